-- A new version published to go live later takes over from the live one at its start: until
-- then the version that was live stays live (superseded, its `replaced_at` the new version's
-- start, or the publication when that is now), so the brochure is never off the catalogue,
-- shares, links and devices in between, and the two are never live at once. Null: the version
-- was not live when it was superseded (or was superseded before this column).
alter table brochure_versions add column replaced_at timestamptz;

-- Versions that a version published to start later took off at once, before this migration:
-- the one live until then (the newest superseded version that had been published) hands over
-- at the new version's start, as it would now; devices are told (as the trigger below does).
update brochure_versions o
   set replaced_at = n.live_from
  from brochure_versions n
 where n.brochure_id = o.brochure_id and n.status = 'published' and n.live_from > now()
   and o.status = 'superseded' and o.published_at is not null
   and o.version = (select max(p.version) from brochure_versions p
                     where p.brochure_id = n.brochure_id and p.version < n.version
                       and p.status = 'superseded' and p.published_at is not null);
insert into sync_log (user_id, entity, entity_key)
select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure', brochure_id::text
  from brochure_versions
 where replaced_at is not null;

-- The live rule (workbench.brochures.queries.LIVE) reads the published versions and those
-- handing over; the catalogue's ordered scan covers both.
drop index brochure_versions_catalogue;
create index brochure_versions_catalogue on brochure_versions (published_at desc, brochure_id desc)
    where status = 'published' or replaced_at is not null;

-- Window edges for sync (0012): a version handing over ends at the new version's start, already
-- an edge; one whose own live_until comes first expires then, an edge of its own.
create index brochure_versions_handover_until on brochure_versions (live_until, brochure_id)
    where live_until < replaced_at;

-- A product's new name or risk level also changes a version handing over (as 0029, which it
-- replaces, for the published ones).
create or replace function sync_brochure_products() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure',
           v.brochure_id::text
      from new_rows n
      join old_rows o on o.code = n.code
      join brochure_versions v on v.product_code = n.code
                              and (v.status = 'published' or v.replaced_at > now())
     where (n.name, n.category, n.risk_level) is distinct from (o.name, o.category, o.risk_level)
    $sql$;
    return null;
end $$;
