-- Offline sync: task templates follow moves in the org tree, and an update is recorded once per
-- partition.
--
-- 1. Which templates a user sees (GET /task-templates; sync.queries.templates) depends on where
--    their unit sits: those owned on its path to the head office, or below it. A unit moved to
--    another parent (with its subtree, in one statement) changed that set for its users, and for
--    the users above the old and the new place of the templates it owns, but only template
--    versions and template rows were recorded (for everyone, and a template a user no longer
--    sees is left alone then): a team moved to another branch kept the old branch's templates on
--    its devices and never got the new branch's. Each pair (user, template) whose visibility the
--    move changed is now recorded for that user, as 0012 and 0022 do for brochures and surveys:
--    the row when it came into sight, a delete when it went (a change recorded for the user
--    alone, that the pull no longer finds in the partition, is a delete). A template given
--    another owner unit (no API does, manual SQL may) is recorded the same way. Admins see every
--    template wherever they are.
--
-- 2. An update of a holding was recorded twice for its customer's owner: once from the old row
--    and once from the new one, in two statements. A 24,000-row holdings feed made 48,000
--    changes to catch up with. The old and the new rows' entries are now one statement with
--    duplicates removed: the same owner and key once; a holding moved to another owner's
--    customer still a change for the old owner (a delete: no longer theirs) and for the new
--    one (the row). Work orders (0022) had the same two statements, every update recorded
--    twice for each holder: the same fix.

-- ---- 1. task templates and moves in the org tree ------------------------------------------------

-- Whether a unit at path `unit_path` sees a template owned by the unit at `owner_path` (the one
-- rule of workbench.tasks.queries sees_template, on paths).
create function template_seen(unit_path text, owner_path text) returns boolean
language sql immutable parallel safe as $$
    select unit_path like owner_path || '%' or owner_path like unit_path || '%'
$$;

-- Pairs (user, template) where either the user's unit or the template's owner unit moved:
-- the users of the moved units with every template, and the templates the moved units own
-- with the users on the path above their old or new place. Paths before the move come from
-- old_rows (a unit not moved has the same path before and after).
create function sync_template_unit_moves() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct p.user_id, 'task_template', p.template_id::text
      from (
          select u.id as user_id, u.org_unit_id as unit_id, t.id as template_id,
                 t.owner_unit_id
            from new_rows n
            join old_rows o on o.id = n.id and o.path <> n.path
            join users u on u.org_unit_id = n.id and u.role <> 'admin'
            cross join task_templates t
          union
          select u.id, u.org_unit_id, t.id, t.owner_unit_id
            from new_rows n
            join old_rows o on o.id = n.id and o.path <> n.path
            join task_templates t on t.owner_unit_id = n.id
            join org_units above on o.path like above.path || '%' or n.path like above.path || '%'
            join users u on u.org_unit_id = above.id and u.role <> 'admin'
      ) p
      join org_units me on me.id = p.unit_id
      left join old_rows me_before on me_before.id = p.unit_id
      join org_units owner on owner.id = p.owner_unit_id
      left join old_rows owner_before on owner_before.id = p.owner_unit_id
     where template_seen(coalesce(me_before.path, me.path), coalesce(owner_before.path, owner.path))
           <> template_seen(me.path, owner.path)
    $sql$;
    return null;
end $$;

create trigger org_units_sync_templates after update on org_units
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_template_unit_moves();

-- A template given another owner unit: recorded for each user who saw it and no longer does, or
-- sees it now and did not (those who see it all along have the row for everyone, as before).
create function sync_template_owner_moves() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct u.id, 'task_template', n.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.owner_unit_id <> n.owner_unit_id
      join org_units owner_before on owner_before.id = o.owner_unit_id
      join org_units owner on owner.id = n.owner_unit_id
      cross join users u
      join org_units me on me.id = u.org_unit_id
     where u.role <> 'admin'
       and template_seen(me.path, owner_before.path) <> template_seen(me.path, owner.path)
    $sql$;
    return null;
end $$;

create trigger task_templates_sync_owner after update on task_templates
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_template_owner_moves();

-- ---- 2. one change per partition and key for an update --------------------------------------

-- As 0008, except that an update records its old and new rows' entries in one statement,
-- without duplicates.
create or replace function sync_customer_rows() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct c.owner_id, tg_argv[0],
               case tg_argv[0] when 'holding' then (to_jsonb(n) ->> 'customer_id') || ':'
                                                   || (to_jsonb(n) ->> 'product_code')
                               else to_jsonb(n) ->> 'id' end
          from new_rows n
          join customers c on c.id = n.customer_id
         where tg_argv[0] = 'holding' or to_jsonb(n) ->> 'source' = 'note';
    elsif tg_op = 'DELETE' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct c.owner_id, tg_argv[0],
               case tg_argv[0] when 'holding' then (to_jsonb(o) ->> 'customer_id') || ':'
                                                   || (to_jsonb(o) ->> 'product_code')
                               else to_jsonb(o) ->> 'id' end
          from old_rows o
          join customers c on c.id = o.customer_id
         where tg_argv[0] = 'holding' or to_jsonb(o) ->> 'source' = 'note';
    else
        -- The row before (its owner then, who may no longer see it) and after (its owner now);
        -- EXECUTEd, so that it is planned with the rows this statement changed (0029).
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select distinct c.owner_id, $1, r.entity_key
          from (select o.customer_id,
                       case $1 when 'holding' then (to_jsonb(o) ->> 'customer_id') || ':'
                                                           || (to_jsonb(o) ->> 'product_code')
                                       else to_jsonb(o) ->> 'id' end as entity_key
                  from old_rows o
                 where $1 = 'holding' or to_jsonb(o) ->> 'source' = 'note'
                union
                select n.customer_id,
                       case $1 when 'holding' then (to_jsonb(n) ->> 'customer_id') || ':'
                                                           || (to_jsonb(n) ->> 'product_code')
                                       else to_jsonb(n) ->> 'id' end
                  from new_rows n
                 where $1 = 'holding' or to_jsonb(n) ->> 'source' = 'note') r
          join customers c on c.id = r.customer_id
        $sql$ using tg_argv[0];
    end if;
    return null;
end $$;

-- As 0022, except that an update records whoever held the work order before or holds it now
-- once each.
create or replace function sync_work_orders() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct who, 'work_order', n.id::text
          from new_rows n,
               work_order_holders(n.assignee_id, n.escalated_to_id, n.org_unit_id) who;
    elsif tg_op = 'DELETE' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct who, 'work_order', o.id::text
          from old_rows o,
               work_order_holders(o.assignee_id, o.escalated_to_id, o.org_unit_id) who;
    else
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select h.who, 'work_order', h.id::text
          from (select o.id, who
                  from old_rows o,
                       work_order_holders(o.assignee_id, o.escalated_to_id, o.org_unit_id) who
                union
                select n.id, who
                  from new_rows n,
                       work_order_holders(n.assignee_id, n.escalated_to_id, n.org_unit_id) who) h
        $sql$;
    end if;
    return null;
end $$;
