-- Offline sync, part two: the change log is kept per partition, so that a user's pull is one
-- index range scan (user, position) however busy the rest of the bank is, and so that notes,
-- notifications and an RM's move between units reach the partitions they change.
--
-- A row (user_id, txid, seq, entity, entity_key) says: this entity changed for this user's
-- partition; the pull sends its current row (masked as the API masks it) or, when the user can
-- no longer see it, a delete. user_id is the nil uuid for rows every user's partition holds
-- (products, task templates; templates are narrowed by org unit when pulled).
--
-- Order: (txid, seq). A pull reads only transactions older than its snapshot's xmin (all of them
-- finished), so a change can never appear behind a cursor that already passed it.

create table sync_log (
    user_id     uuid not null,
    txid        xid8 not null default pg_current_xact_id(),
    seq         bigint generated always as identity,
    entity      text not null,   -- customer, holding, note, task, task_template, product, notification
    entity_key  text not null,   -- the row's id (a holding: customer id ':' product code)
    changed_at  timestamptz not null default now(),
    primary key (user_id, txid, seq)
);
-- The sync feed tails the whole log in order to tell apps to pull.
create index sync_log_order on sync_log (txid, seq);
create index sync_log_time on sync_log using brin (changed_at);

insert into sync_log (user_id, txid, entity, entity_key, changed_at)
select distinct on (u, c.txid, c.seq) u, c.txid, c.entity, c.entity_key, c.changed_at
  from sync_changes c,
       unnest(case when c.public then array['00000000-0000-0000-0000-000000000000'::uuid]
                   else c.before_users || c.after_users end) u
 order by u, c.txid, c.seq;

drop trigger customers_sync_insert on customers;
drop trigger customers_sync_update on customers;
drop trigger customers_sync_delete on customers;
drop trigger holdings_sync_insert on holdings;
drop trigger holdings_sync_update on holdings;
drop trigger holdings_sync_delete on holdings;
drop trigger tasks_sync_insert on tasks;
drop trigger tasks_sync_update on tasks;
drop trigger tasks_sync_delete on tasks;
drop trigger products_sync_insert on products;
drop trigger products_sync_update on products;
drop trigger products_sync_delete on products;
drop trigger task_templates_sync_insert on task_template_versions;
drop function sync_customers();
drop function sync_holdings();
drop function sync_tasks();
drop function sync_public();
drop table sync_changes;

-- The sync feed (a worker) tails the log to tell apps to pull; it resumes from here.
create table sync_feed (
    id    boolean primary key default true check (id),
    txid  xid8 not null,
    seq   bigint not null
);
insert into sync_feed (txid, seq) values ('0'::xid8, 0);

-- Offline mutations: the last one applied per client (an app install) of a user.
create table sync_clients (
    user_id           uuid not null references users (id),
    client_id         text not null check (length(client_id) between 1 and 100),
    last_mutation_id  bigint not null check (last_mutation_id >= 0),
    updated_at        timestamptz not null default now(),
    primary key (user_id, client_id)
);

-- ---- customers (an owner move takes the customer's holdings and notes along) -------------------
-- A deleted customer's holdings and notes go with it on the app, as they do here (cascade).

create function sync_customers() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.owner_id, 'customer', n.id::text from new_rows n;
    elsif tg_op = 'UPDATE' then
        -- Re-encryption under a new key (`workbench rotate-keys`) changes only ciphertext: the
        -- blind indexes show whether the values themselves changed.
        insert into sync_log (user_id, entity, entity_key)
        select distinct u, 'customer', n.id::text
          from new_rows n join old_rows o on o.id = n.id,
               unnest(array[o.owner_id, n.owner_id]) u
         where to_jsonb(n) - '{name_enc,id_number_enc,phone_enc,updated_at}'::text[]
               is distinct from to_jsonb(o) - '{name_enc,id_number_enc,phone_enc,updated_at}'::text[];
        insert into sync_log (user_id, entity, entity_key)
        select u, 'holding', h.customer_id || ':' || h.product_code
          from new_rows n
          join old_rows o on o.id = n.id and o.owner_id <> n.owner_id
          join holdings h on h.customer_id = n.id,
               unnest(array[o.owner_id, n.owner_id]) u;
        insert into sync_log (user_id, entity, entity_key)
        select u, 'note', t.id::text
          from new_rows n
          join old_rows o on o.id = n.id and o.owner_id <> n.owner_id
          join customer_timeline t on t.customer_id = n.id and t.source = 'note',
               unnest(array[o.owner_id, n.owner_id]) u;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.owner_id, 'customer', o.id::text from old_rows o;
    end if;
    return null;
end $$;

create trigger customers_sync_insert after insert on customers
    referencing new table as new_rows for each statement execute function sync_customers();
create trigger customers_sync_update after update on customers
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_customers();
create trigger customers_sync_delete after delete on customers
    referencing old table as old_rows for each statement execute function sync_customers();

-- ---- holdings and notes (seen by the customer's owner) -----------------------------------------
-- tg_argv[0]: the entity ('holding' or 'note'). Inserts and updates are recorded for the owner of
-- the row's customer now (and, for an update that moved the row, of the customer before).

create function sync_customer_rows() returns trigger
language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        insert into sync_log (user_id, entity, entity_key)
        select distinct c.owner_id, tg_argv[0],
               case tg_argv[0] when 'holding' then (to_jsonb(o) ->> 'customer_id') || ':'
                                                   || (to_jsonb(o) ->> 'product_code')
                               else to_jsonb(o) ->> 'id' end
          from old_rows o
          join customers c on c.id = o.customer_id
         where tg_argv[0] = 'holding' or to_jsonb(o) ->> 'source' = 'note';
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into sync_log (user_id, entity, entity_key)
        select distinct c.owner_id, tg_argv[0],
               case tg_argv[0] when 'holding' then (to_jsonb(n) ->> 'customer_id') || ':'
                                                   || (to_jsonb(n) ->> 'product_code')
                               else to_jsonb(n) ->> 'id' end
          from new_rows n
          join customers c on c.id = n.customer_id
         where tg_argv[0] = 'holding' or to_jsonb(n) ->> 'source' = 'note';
    end if;
    return null;
end $$;

create trigger holdings_sync_insert after insert on holdings
    referencing new table as new_rows
    for each statement execute function sync_customer_rows('holding');
create trigger holdings_sync_update after update on holdings
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_customer_rows('holding');
create trigger holdings_sync_delete after delete on holdings
    referencing old table as old_rows
    for each statement execute function sync_customer_rows('holding');
-- Notes are the timeline entries an RM writes; re-encrypting their text (rotate-keys) is not a
-- change for the app, so only inserts and deletes are recorded.
create trigger timeline_sync_insert after insert on customer_timeline
    referencing new table as new_rows
    for each statement execute function sync_customer_rows('note');
create trigger timeline_sync_delete after delete on customer_timeline
    referencing old table as old_rows
    for each statement execute function sync_customer_rows('note');

-- ---- tasks (the assignee; branch heads see their subtree's tasks at pull time) -----------------

create function sync_tasks() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.assignee_id, 'task', n.id::text from new_rows n;
    elsif tg_op = 'UPDATE' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct u, 'task', n.id::text
          from new_rows n join old_rows o on o.id = n.id,
               unnest(array[o.assignee_id, n.assignee_id]) u;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.assignee_id, 'task', o.id::text from old_rows o;
    end if;
    return null;
end $$;

create trigger tasks_sync_insert after insert on tasks
    referencing new table as new_rows for each statement execute function sync_tasks();
create trigger tasks_sync_update after update on tasks
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_tasks();
create trigger tasks_sync_delete after delete on tasks
    referencing old table as old_rows for each statement execute function sync_tasks();

-- ---- an RM moving to another unit leaves the subtrees of their former branch heads -------------
-- Their tasks are recorded for every branch head above the old unit (who can no longer see
-- them) and for the RM (through whom the new unit's branch heads pick them up).

create function sync_user_moves() returns trigger
language plpgsql as $$
begin
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
      ) heads(who);
    return null;
end $$;

create trigger users_sync_update after update on users
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_user_moves();

-- A unit moved in the tree (with everything below it) leaves the subtrees of the branch heads
-- above its old place: its users' tasks are recorded for them, and for the users themselves
-- (through whom the branch heads above the new place pick them up).
create function sync_unit_moves() returns trigger
language plpgsql as $$
begin
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
      ) heads(who);
    return null;
end $$;

create trigger org_units_sync_update after update on org_units
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_unit_moves();

-- ---- products and task templates (every user's partition; templates narrowed when pulled) ------

create function sync_shared() returns trigger
language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, tg_argv[0],
               to_jsonb(o) ->> tg_argv[1]
          from old_rows o;
    else
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, tg_argv[0],
               to_jsonb(n) ->> tg_argv[1]
          from new_rows n;
    end if;
    return null;
end $$;

create trigger products_sync_insert after insert on products
    referencing new table as new_rows
    for each statement execute function sync_shared('product', 'code');
create trigger products_sync_update after update on products
    referencing new table as new_rows
    for each statement execute function sync_shared('product', 'code');
create trigger products_sync_delete after delete on products
    referencing old table as old_rows
    for each statement execute function sync_shared('product', 'code');
-- A template's versions are its form history: a new version is a change of the template.
create trigger task_templates_sync_insert after insert on task_template_versions
    referencing new table as new_rows
    for each statement execute function sync_shared('task_template', 'template_id');
create trigger task_templates_sync_update after update on task_templates
    referencing new table as new_rows
    for each statement execute function sync_shared('task_template', 'id');

-- ---- notifications (listed once their time has come, until withdrawn) --------------------------
-- A notification scheduled for later is recorded when a push worker settles or defers it (its
-- time has come by then); one listed now is recorded when it is written. Reading it, and a
-- withdrawal, are changes too.

create function sync_notifications() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'notification', n.id::text
          from new_rows n
         where n.in_app and n.created_at <= now() and n.push_status <> 'withdrawn';
    elsif tg_op = 'UPDATE' then
        insert into sync_log (user_id, entity, entity_key)
        select n.user_id, 'notification', n.id::text
          from new_rows n join old_rows o on o.id = n.id
         where n.in_app and n.created_at <= now()
           and (o.push_status, o.read_at, o.send_at, o.created_at)
               is distinct from (n.push_status, n.read_at, n.send_at, n.created_at);
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.user_id, 'notification', o.id::text from old_rows o where o.in_app;
    end if;
    return null;
end $$;

create trigger notifications_sync_insert after insert on notifications
    referencing new table as new_rows for each statement execute function sync_notifications();
create trigger notifications_sync_update after update on notifications
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_notifications();
create trigger notifications_sync_delete after delete on notifications
    referencing old table as old_rows for each statement execute function sync_notifications();
