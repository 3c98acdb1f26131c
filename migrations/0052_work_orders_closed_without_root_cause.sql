-- A work order may be closed without a root cause: the API contract's `{to: closed, note}`
-- (API.md) names none, and an app built from it could never close one. Such a work order records
-- none (root_cause null), which every reader shows and counts as 未注明; a root cause given is
-- still one of the bank's list (the foreign key), and the staff console may still insist on one.
--
-- 0019 made "closed needs a root cause" an unnamed check (work_orders_check1 in a database
-- migrated from 0001): found by what it says rather than by that generated name.
do $$
declare
    found text;
begin
    for found in
        select conname from pg_constraint
         where conrelid = 'work_orders'::regclass and contype = 'c'
           and pg_get_constraintdef(oid) like '%root_cause IS NOT NULL%'
    loop
        execute format('alter table work_orders drop constraint %I', found);
    end loop;
end
$$;
