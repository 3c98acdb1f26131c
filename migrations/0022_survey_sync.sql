-- Offline sync of surveys and work orders (sync schema 4), on top of 0017 and 0019.
--
-- Surveys: a published customer survey is in the partition of every RM and branch head on its
-- owner unit's path (as brochures: recorded for everyone, narrowed when pulled); a staff
-- survey's invitation is in its invitee's partition until answered. Work orders: in the
-- assignee's partition and in the partitions of the branch heads above the assignee (recorded
-- for them here, so that a pull reads only its own rows of the log).

-- ---- customer surveys: published, republished (a new version), archived -----------------------

create function sync_surveys() returns trigger
language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'survey', n.id::text
          from new_rows n join old_rows o on o.id = n.id
         where 'customer' in (n.audience, o.audience)
           and (n.status = 'published' or o.status = 'published')
           and (n.status, n.version, n.audience, n.owner_unit_id)
               is distinct from (o.status, o.version, o.audience, o.owner_unit_id);
    elsif tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'survey', n.id::text
          from new_rows n where n.audience = 'customer' and n.status = 'published';
    else
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'survey', o.id::text
          from old_rows o where o.audience = 'customer' and o.status = 'published';
    end if;
    return null;
end $$;

create trigger surveys_sync_insert after insert on surveys
    referencing new table as new_rows for each statement execute function sync_surveys();
create trigger surveys_sync_update after update on surveys
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_surveys();
create trigger surveys_sync_delete after delete on surveys
    referencing old table as old_rows for each statement execute function sync_surveys();

-- A unit moved in the tree changes which customer surveys its RMs and branch heads may send
-- (those owned on the path to the root): each published one that came into or went out of sight
-- is recorded for each of them.
create function sync_survey_unit_moves() returns trigger
language plpgsql as $$
begin
    insert into sync_log (user_id, entity, entity_key)
    select distinct u.id, 'survey', s.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.path <> n.path
      join users u on u.org_unit_id = n.id and u.role in ('rm', 'branch_head')
      cross join surveys s
      join org_units owner on owner.id = s.owner_unit_id
      left join old_rows owner_before on owner_before.id = s.owner_unit_id
     where s.status = 'published' and s.audience = 'customer'
       and (o.path like coalesce(owner_before.path, owner.path) || '%')
           <> (n.path like owner.path || '%');
    return null;
end $$;

create trigger org_units_sync_surveys after update on org_units
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_survey_unit_moves();

-- ---- staff invitations: sent, answered, expiry moved, removed ----------------------------------

create function sync_survey_invitations() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'survey', n.id::text from new_rows n where n.user_id is not null;
    elsif tg_op = 'UPDATE' then
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'survey', n.id::text
          from new_rows n join old_rows o on o.id = n.id
         where n.user_id is not null
           and (n.responded_at, n.expires_at) is distinct from (o.responded_at, o.expires_at);
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.user_id, 'survey', o.id::text from old_rows o where o.user_id is not null;
    end if;
    return null;
end $$;

create trigger survey_invitations_sync_insert after insert on survey_invitations
    referencing new table as new_rows
    for each statement execute function sync_survey_invitations();
create trigger survey_invitations_sync_update after update on survey_invitations
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_survey_invitations();
create trigger survey_invitations_sync_delete after delete on survey_invitations
    referencing old table as old_rows
    for each statement execute function sync_survey_invitations();

-- ---- work orders: the assignee, whom it was escalated to, the branch heads over its unit -------

create function work_order_holders(assignee uuid, escalated_to uuid, unit uuid)
returns setof uuid
language sql stable as $$
    select assignee
    union
    select escalated_to where escalated_to is not null
    union
    select h.id
      from org_units u
      join org_units hu on u.path like hu.path || '%'
      join users h on h.org_unit_id = hu.id and h.role = 'branch_head'
     where u.id = unit
$$;

-- Any change of a work order (state, assignee, escalation, due time) is recorded for whoever held
-- it before and holds it now: a reassigned or escalated one leaves and reaches partitions.
create function sync_work_orders() returns trigger
language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        insert into sync_log (user_id, entity, entity_key)
        select distinct who, 'work_order', o.id::text
          from old_rows o,
               work_order_holders(o.assignee_id, o.escalated_to_id, o.org_unit_id) who;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into sync_log (user_id, entity, entity_key)
        select distinct who, 'work_order', n.id::text
          from new_rows n,
               work_order_holders(n.assignee_id, n.escalated_to_id, n.org_unit_id) who;
    end if;
    return null;
end $$;

create trigger work_orders_sync_insert after insert on work_orders
    referencing new table as new_rows for each statement execute function sync_work_orders();
create trigger work_orders_sync_update after update on work_orders
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_work_orders();
create trigger work_orders_sync_delete after delete on work_orders
    referencing old table as old_rows for each statement execute function sync_work_orders();

-- A work order carries its events (notes, transitions, escalations): a new one is a change.
create function sync_work_order_events() returns trigger
language plpgsql as $$
begin
    insert into sync_log (user_id, entity, entity_key)
    select distinct who, 'work_order', w.id::text
      from (select distinct work_order_id from new_rows) e
      join work_orders w on w.id = e.work_order_id,
           work_order_holders(w.assignee_id, w.escalated_to_id, w.org_unit_id) who;
    return null;
end $$;

create trigger work_order_events_sync_insert after insert on work_order_events
    referencing new table as new_rows for each statement execute function sync_work_order_events();

-- A unit moved in the tree (with everything below it) changes which branch heads are over its
-- work orders: each is recorded for every branch head over its old or new place but not both.
create function sync_work_order_unit_moves() returns trigger
language plpgsql as $$
begin
    insert into sync_log (user_id, entity, entity_key)
    select distinct h.id, 'work_order', w.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.path <> n.path
      join work_orders w on w.org_unit_id = n.id
      cross join users h
      join org_units hu on hu.id = h.org_unit_id
     where h.role = 'branch_head'
       and (o.path like hu.path || '%') <> (n.path like hu.path || '%');
    return null;
end $$;

create trigger org_units_sync_work_orders after update on org_units
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_work_order_unit_moves();
