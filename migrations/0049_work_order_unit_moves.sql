-- Offline sync: a unit moved in the tree also changes whom a work order shows its customer.
--
-- A branch head is shown a work order's customer (masked name, answers: `customer_shown` of
-- workbench.workorders.queries) only while the customer's owner works in their subtree. A unit
-- moved to another parent (with its subtree, in one statement) takes its users, and so their
-- customers, out of the subtrees of the heads over its old place and into those over its new
-- one. 0022/0029 record the work orders OF the moved units for the heads over the old or the
-- new place but not both (they start or stop reading them); a work order left behind in a unit
-- that did not move (a closed one stays where it was when its RM moved on), about a customer of
-- a moved unit's user, was recorded for nobody: its head still reads it, the API shows them
-- "*" and no answers, and their device kept the name, the trigger and the full answers.
--
-- Such a work order is now recorded, too, for each branch head who holds it now (reads it:
-- `work_order_holders`) and sees its customer before or after the move but not both.

create or replace function sync_work_order_unit_moves() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct h.id, 'work_order', w.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.path <> n.path
      join work_orders w on w.org_unit_id = n.id
      cross join users h
      join org_units hu on hu.id = h.org_unit_id
     where h.role = 'branch_head'
       and (o.path like hu.path || '%') <> (n.path like hu.path || '%')
    union
    select h.id, 'work_order', w.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.path <> n.path
      join users owner on owner.org_unit_id = n.id
      join customers c on c.owner_id = owner.id
      join work_orders w on w.customer_id = c.id
      cross join lateral work_order_holders(w.assignee_id, w.escalated_to_id, w.org_unit_id) who
      join users h on h.id = who and h.role = 'branch_head'
      join org_units hu on hu.id = h.org_unit_id
      left join old_rows hu_before on hu_before.id = hu.id
     where (o.path like coalesce(hu_before.path, hu.path) || '%') <> (n.path like hu.path || '%')
    $sql$;
    return null;
end $$;
