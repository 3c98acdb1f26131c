-- A customer who left the bank: the bank's customer feed sends `status: "closed"`, and the row
-- keeps when (null: active, as every customer stored before). The customer stays (history,
-- audit, the timeline, work orders and reports stay whole; personal data stays encrypted) but
-- leaves the RM's daily work: lists, search, the 360° view, targets of dispatches and shares,
-- and offline sync. A row sent again as active reopens them (closed_at null again).
--
-- No new index: the lists and the sync walk an RM's customers along customers_owner_aum
-- (owner_id, aum desc, id desc) and read each row anyway; a closed one is skipped there.
alter table customers add column closed_at timestamptz;

-- Closing a customer cancels their tasks not started yet, whoever holds them (a branch head may
-- have reassigned one): found by customer, among the pending tasks only.
create index tasks_pending_by_customer on tasks (customer_id)
    where status = 'pending' and customer_id is not null;

-- As 0029, except that the holdings and notes of a customer are recorded for its partitions
-- whenever the customer joins or leaves one: an owner move (as before), and a close or a
-- reopen. A closed customer is in no partition: the pull sends it as a delete, which takes its
-- holdings and notes along on the device; reopened, they are all sent again.
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
        select distinct u, 'holding', h.customer_id || ':' || h.product_code
          from new_rows n
          join old_rows o on o.id = n.id
                         and (o.owner_id <> n.owner_id
                              or (o.closed_at is null) <> (n.closed_at is null))
          join holdings h on h.customer_id = n.id,
               unnest(array[o.owner_id, n.owner_id]) u
        $sql$;
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select distinct u, 'note', t.id::text
          from new_rows n
          join old_rows o on o.id = n.id
                         and (o.owner_id <> n.owner_id
                              or (o.closed_at is null) <> (n.closed_at is null))
          join customer_timeline t on t.customer_id = n.id and t.source = 'note',
               unnest(array[o.owner_id, n.owner_id]) u
        $sql$;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.owner_id, 'customer', o.id::text from old_rows o;
    end if;
    return null;
end $$;
