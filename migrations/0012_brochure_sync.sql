-- Offline sync of brochures (sync schema 3), on top of 0010.
--
-- Window edges: a published version goes live at live_from (else at its publication) and expires
-- at live_until; nothing is written then. A pull finds the edges that passed since its cursor,
-- and the sync feed the next one due, by range scans over these two indexes (no other brochure
-- is read).
create index brochure_versions_live_start
    on brochure_versions ((coalesce(live_from, published_at)), brochure_id)
    where status = 'published';
create index brochure_versions_live_until
    on brochure_versions (live_until, brochure_id)
    where status = 'published' and live_until is not null;

-- A change of the published version that devices show: as 0010, and its publication time (a
-- window changed again by publishing anew moves it, and the app shows it).
create or replace function sync_brochures() returns trigger
language plpgsql as $$
begin
    insert into sync_log (user_id, entity, entity_key)
    select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure', n.brochure_id::text
      from new_rows n join old_rows o using (brochure_id, version)
     where (n.status = 'published' or o.status = 'published')
       and (n.status, n.live_from, n.live_until, n.content_hash, n.published_at)
           is distinct from (o.status, o.live_from, o.live_until, o.content_hash, o.published_at);
    return null;
end $$;

-- A version written or removed as published (manual SQL, a restore) is a change too.
create function sync_brochure_rows() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure',
               n.brochure_id::text
          from new_rows n where n.status = 'published';
    else
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure',
               o.brochure_id::text
          from old_rows o where o.status = 'published';
    end if;
    return null;
end $$;

create trigger brochure_versions_sync_insert after insert on brochure_versions
    referencing new table as new_rows
    for each statement execute function sync_brochure_rows();
create trigger brochure_versions_sync_delete after delete on brochure_versions
    referencing old table as old_rows
    for each statement execute function sync_brochure_rows();

-- A brochure row carries its product's name, category and risk level: a product that changes
-- them changes its published brochures.
create function sync_brochure_products() returns trigger
language plpgsql as $$
begin
    insert into sync_log (user_id, entity, entity_key)
    select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure',
           v.brochure_id::text
      from new_rows n
      join old_rows o on o.code = n.code
      join brochure_versions v on v.product_code = n.code and v.status = 'published'
     where (n.name, n.category, n.risk_level) is distinct from (o.name, o.category, o.risk_level);
    return null;
end $$;

create trigger products_sync_brochures after update on products
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_brochure_products();

-- A unit moved in the tree (with everything below it) changes which brochures its RMs and
-- branch heads see (those owned on the path to the root): each brochure with a published version
-- that came into or went out of sight is recorded for each of them (a delete when it went).
create function sync_brochure_unit_moves() returns trigger
language plpgsql as $$
begin
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
           <> (n.path like owner.path || '%');
    return null;
end $$;

create trigger org_units_sync_brochures after update on org_units
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_brochure_unit_moves();
