-- Update triggers that join a statement's old rows to its new rows plan that join for each
-- statement (EXECUTE), with the number of rows the statement changed.
--
-- PL/pgSQL plans a parameterless statement once per connection and keeps that plan, row counts
-- of the transition tables included, from the first statement that fired the trigger. After a
-- one-row update on a connection (an RM's edit, a feed of one changed row) a batch of thousands
-- was joined in a nested loop that read all of old_rows again for each new row. Measured on one
-- pooled connection that had updated one row first (EXPLAIN ANALYZE, whole statement; on a
-- fresh connection in brackets):
--   customers feed (upsert_customers)   1,000 rows 1.37 s, 5,000 rows 25.3 s  (0.10 s, 0.36 s)
--   tasks expiry (expire_due)           1,000 rows 0.08 s, 5,000 rows 1.45 s  (0.03 s, 0.07 s)
--   reminders withdrawn (withdraw_pending) 1,000 0.14 s, 5,000 2.84 s         (0.03 s, 0.20 s)
--   products feed (upsert_products)     1,000 rows 0.11 s, 5,000 rows 2.52 s  (0.04 s, 0.23 s)
-- The same statements, their text unchanged, now run through EXECUTE (as share_funnel_* do), so
-- each is planned with the real row counts: 0.05 s and 0.35 s for the customers feed above,
-- 0.04 s and 0.16 s for the expiry, 0.04 s and 0.22 s for the withdrawal, 0.02 s and 0.12 s for
-- the products feed, on that same warmed connection. The price is planning per statement: a
-- single-row update of a notification took ~0.4 ms instead of ~0.28.

create or replace function sync_customers() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.owner_id, 'customer', n.id::text from new_rows n;
    elsif tg_op = 'UPDATE' then
        -- Re-encryption under a new key (`workbench rotate-keys`) changes only ciphertext: the
        -- blind indexes show whether the values themselves changed.
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select distinct u, 'customer', n.id::text
          from new_rows n join old_rows o on o.id = n.id,
               unnest(array[o.owner_id, n.owner_id]) u
         where to_jsonb(n) - '{name_enc,id_number_enc,phone_enc,updated_at}'::text[]
               is distinct from to_jsonb(o) - '{name_enc,id_number_enc,phone_enc,updated_at}'::text[]
        $sql$;
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select u, 'holding', h.customer_id || ':' || h.product_code
          from new_rows n
          join old_rows o on o.id = n.id and o.owner_id <> n.owner_id
          join holdings h on h.customer_id = n.id,
               unnest(array[o.owner_id, n.owner_id]) u
        $sql$;
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select u, 'note', t.id::text
          from new_rows n
          join old_rows o on o.id = n.id and o.owner_id <> n.owner_id
          join customer_timeline t on t.customer_id = n.id and t.source = 'note',
               unnest(array[o.owner_id, n.owner_id]) u
        $sql$;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.owner_id, 'customer', o.id::text from old_rows o;
    end if;
    return null;
end $$;

create or replace function sync_tasks() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.assignee_id, 'task', n.id::text from new_rows n;
    elsif tg_op = 'UPDATE' then
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select distinct u, 'task', n.id::text
          from new_rows n join old_rows o on o.id = n.id,
               unnest(array[o.assignee_id, n.assignee_id]) u
        $sql$;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.assignee_id, 'task', o.id::text from old_rows o;
    end if;
    return null;
end $$;

create or replace function sync_notifications() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'notification', n.id::text
          from new_rows n
         where n.in_app and n.created_at <= now() and n.push_status <> 'withdrawn';
    elsif tg_op = 'UPDATE' then
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'notification', n.id::text
          from new_rows n join old_rows o on o.id = n.id
         where n.in_app and n.created_at <= now()
           and (o.push_status, o.read_at, o.send_at, o.created_at)
               is distinct from (n.push_status, n.read_at, n.send_at, n.created_at)
        $sql$;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.user_id, 'notification', o.id::text from old_rows o where o.in_app;
    end if;
    return null;
end $$;

create or replace function sync_brochure_products() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure',
           v.brochure_id::text
      from new_rows n
      join old_rows o on o.code = n.code
      join brochure_versions v on v.product_code = n.code and v.status = 'published'
     where (n.name, n.category, n.risk_level) is distinct from (o.name, o.category, o.risk_level)
    $sql$;
    return null;
end $$;

-- The other triggers that join a statement's old rows to its new rows, for the same reason: a
-- move of a unit moves its whole subtree in one statement, and publishing or closing surveys
-- and brochures updates many rows at once.

create or replace function sync_brochures() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure', n.brochure_id::text
      from new_rows n join old_rows o using (brochure_id, version)
     where (n.status = 'published' or o.status = 'published')
       and (n.status, n.live_from, n.live_until, n.content_hash, n.published_at)
           is distinct from (o.status, o.live_from, o.live_until, o.content_hash, o.published_at)
    $sql$;
    return null;
end $$;

create or replace function sync_brochure_unit_moves() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct u.id, 'brochure', b.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.path <> n.path
      join users u on u.org_unit_id = n.id and u.role in ('rm', 'branch_head')
      cross join brochures b
      join org_units owner on owner.id = b.owner_unit_id
      left join old_rows owner_before on owner_before.id = b.owner_unit_id
     where exists (select from brochure_versions v
                    where v.brochure_id = b.id and v.status = 'published')
       and (o.path like coalesce(owner_before.path, owner.path) || '%')
           <> (n.path like owner.path || '%')
    $sql$;
    return null;
end $$;

create or replace function sync_surveys() returns trigger
language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'survey', n.id::text
          from new_rows n join old_rows o on o.id = n.id
         where 'customer' in (n.audience, o.audience)
           and (n.status = 'published' or o.status = 'published')
           and (n.status, n.version, n.audience, n.owner_unit_id)
               is distinct from (o.status, o.version, o.audience, o.owner_unit_id)
        $sql$;
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

create or replace function sync_survey_invitations() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'survey', n.id::text from new_rows n where n.user_id is not null;
    elsif tg_op = 'UPDATE' then
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'survey', n.id::text
          from new_rows n join old_rows o on o.id = n.id
         where n.user_id is not null
           and (n.responded_at, n.expires_at) is distinct from (o.responded_at, o.expires_at)
        $sql$;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.user_id, 'survey', o.id::text from old_rows o where o.user_id is not null;
    end if;
    return null;
end $$;

create or replace function sync_survey_unit_moves() returns trigger
language plpgsql as $$
begin
    execute $sql$
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
           <> (n.path like owner.path || '%')
    $sql$;
    return null;
end $$;

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
    $sql$;
    return null;
end $$;

create or replace function sync_unit_moves() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct who, 'task', t.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.path <> n.path
      join users u on u.org_unit_id = n.id
      join tasks t on t.assignee_id = u.id
      cross join lateral (
          select h.id from users h join org_units hu on hu.id = h.org_unit_id
           where h.role = 'branch_head' and o.path like hu.path || '%'
             and not hu.path like n.path || '%'
          union all
          select u.id
      ) heads(who)
    $sql$;
    return null;
end $$;

create or replace function sync_user_moves() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct who, 'task', t.id::text
      from new_rows n
      join old_rows o on o.id = n.id and o.org_unit_id <> n.org_unit_id
      join org_units old_unit on old_unit.id = o.org_unit_id
      join tasks t on t.assignee_id = n.id
      cross join lateral (
          select h.id from users h join org_units hu on hu.id = h.org_unit_id
           where h.role = 'branch_head' and old_unit.path like hu.path || '%'
          union all
          select n.id
      ) heads(who)
    $sql$;
    return null;
end $$;
