-- Offline sync, part one: change capture in the database. Every write to a synced table, by any
-- path (API, bank feed, CLI, worker, manual SQL), records which rows changed and who could see
-- them before and after, so that a user's next pull can send upserts and deletes.
--
-- Order: (txid, seq). A pull reads only changes of transactions older than its snapshot's xmin
-- (all of them finished), so a change can never appear behind a cursor that already passed it,
-- whatever order concurrent transactions commit in.

create table sync_changes (
    txid          xid8 not null default pg_current_xact_id(),
    seq           bigint generated always as identity,
    entity        text not null,     -- customer, holding, task, task_template, product
    entity_key    text not null,     -- the row's id (a holding: customer id ':' product code)
    deleted       boolean not null,  -- the row is gone for everyone
    before_users  uuid[] not null,   -- who could see the row before ('{}': nobody, a new row)
    after_users   uuid[] not null,   -- who can see it now ('{}': nobody)
    public        boolean not null default false,  -- every user sees it (products, templates)
    changed_at    timestamptz not null default now(),
    primary key (txid, seq)
);
-- A user's changes: the rows they could see before or can see now.
create index sync_changes_users on sync_changes using gin ((before_users || after_users));
create index sync_changes_time on sync_changes using brin (changed_at);

-- ---- customers (an owner move takes the customer's holdings along) ------------------------------

create function sync_customers() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'customer', n.id::text, false, '{}', array[n.owner_id] from new_rows n;
    elsif tg_op = 'UPDATE' then
        -- Re-encryption under a new key (`workbench rotate-keys`) changes only ciphertext: the
        -- blind indexes show whether the values themselves changed.
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'customer', n.id::text, false, array[o.owner_id], array[n.owner_id]
          from new_rows n join old_rows o on o.id = n.id
         where to_jsonb(n) - '{name_enc,id_number_enc,phone_enc,updated_at}'::text[]
               is distinct from to_jsonb(o) - '{name_enc,id_number_enc,phone_enc,updated_at}'::text[];
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'holding', h.customer_id || ':' || h.product_code, false,
               array[o.owner_id], array[n.owner_id]
          from new_rows n
          join old_rows o on o.id = n.id and o.owner_id <> n.owner_id
          join holdings h on h.customer_id = n.id;
    else
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'customer', o.id::text, true, array[o.owner_id], '{}' from old_rows o;
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

-- ---- holdings (seen by the customer's owner) ---------------------------------------------------
-- Holdings deleted with their customer (the cascade) are recorded with nobody before: the
-- customer's own delete tells its owner's app to drop them.

create function sync_holdings() returns trigger
language plpgsql as $$
begin
    if tg_op in ('INSERT', 'UPDATE') then
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'holding', n.customer_id || ':' || n.product_code, false,
               case when tg_op = 'UPDATE' then array[c.owner_id] else '{}' end,
               array[c.owner_id]
          from new_rows n join customers c on c.id = n.customer_id;
    else
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'holding', o.customer_id || ':' || o.product_code, true,
               coalesce((select array[c.owner_id] from customers c where c.id = o.customer_id),
                        '{}'),
               '{}'
          from old_rows o;
    end if;
    return null;
end $$;

create trigger holdings_sync_insert after insert on holdings
    referencing new table as new_rows for each statement execute function sync_holdings();
create trigger holdings_sync_update after update on holdings
    referencing new table as new_rows for each statement execute function sync_holdings();
create trigger holdings_sync_delete after delete on holdings
    referencing old table as old_rows for each statement execute function sync_holdings();

-- ---- tasks (the assignee; branch heads see their subtree's at pull time) ---------------------

create function sync_tasks() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'task', n.id::text, false, '{}', array[n.assignee_id] from new_rows n;
    elsif tg_op = 'UPDATE' then
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'task', n.id::text, false, array[o.assignee_id], array[n.assignee_id]
          from new_rows n join old_rows o on o.id = n.id;
    else
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users)
        select 'task', o.id::text, true, array[o.assignee_id], '{}' from old_rows o;
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

-- ---- products and task templates (every user sees them) ----------------------------------------

create function sync_public() returns trigger
language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users, public)
        select tg_argv[0], to_jsonb(o) ->> tg_argv[1], true, '{}', '{}', true from old_rows o;
    else
        insert into sync_changes (entity, entity_key, deleted, before_users, after_users, public)
        select tg_argv[0], to_jsonb(n) ->> tg_argv[1], false, '{}', '{}', true from new_rows n;
    end if;
    return null;
end $$;

create trigger products_sync_insert after insert on products
    referencing new table as new_rows
    for each statement execute function sync_public('product', 'code');
create trigger products_sync_update after update on products
    referencing new table as new_rows
    for each statement execute function sync_public('product', 'code');
create trigger products_sync_delete after delete on products
    referencing old table as old_rows
    for each statement execute function sync_public('product', 'code');
-- A template's versions are its form history: a new version is a change of the template.
create trigger task_templates_sync_insert after insert on task_template_versions
    referencing new table as new_rows
    for each statement execute function sync_public('task_template', 'template_id');
