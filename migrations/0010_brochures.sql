-- Product brochures: page images, their renditions, and versions that go through compliance.
--
-- A brochure is an identity owned by an org unit (whose subtree's marketing and compliance staff
-- manage it, and whose RMs, with those of the units below, see it once live). Its content lives in
-- versions: draft -> pending_review -> approved | rejected -> published -> unpublished, or
-- superseded when a newer version is published. At most one version of a brochure is published;
-- whether it is live (live_from <= now < live_until) is decided when it is read, never by a job.
-- An approval is bound to the exact content: `approved_hash` is the `content_hash` compliance
-- saw; any edit that changes the content no longer matches it.

-- Source images, stored once per content (SHA-256 of the normalised image: oriented, no metadata).
create table brochure_images (
    sha256       bytea primary key check (length(sha256) = 32),
    blob_key     text not null,
    format       text not null check (format in ('jpeg', 'png', 'webp')),
    width        int not null check (width > 0),
    height       int not null check (height > 0),
    byte_size    int not null check (byte_size > 0),
    uploaded_by  uuid references users (id),
    created_at   timestamptz not null default now()
);

-- Renditions (phone, tablet, thumbnail; WebP and JPEG), named by source hash and spec, so a
-- changed image never serves a stale one. Built by the worker; a failed one fails alone.
create table brochure_renditions (
    image_sha256   bytea not null references brochure_images (sha256),
    spec           text not null,
    status         text not null default 'pending' check (status in ('pending', 'ready', 'failed')),
    blob_key       text,
    width          int,
    height         int,
    byte_size      int,
    error          text,
    attempts       int not null default 0,
    claimed_until  timestamptz,
    updated_at     timestamptz not null default now(),
    primary key (image_sha256, spec),
    check ((status = 'ready') = (blob_key is not null))
);
create index brochure_renditions_pending on brochure_renditions (updated_at)
    where status = 'pending';

create table brochures (
    id             uuid primary key,
    owner_unit_id  uuid not null references org_units (id),
    created_by     uuid not null references users (id),
    created_at     timestamptz not null default now()
);
create index brochures_owner_unit on brochures (owner_unit_id);

create table brochure_versions (
    brochure_id    uuid not null references brochures (id),
    version        int not null check (version >= 1),
    title          text not null check (length(title) between 1 and 120),
    product_code   text not null references products (code),
    talk_track     text not null default '' check (length(talk_track) <= 5000),
    tags           jsonb not null default '[]',
    pages          bytea[] not null check (cardinality(pages) between 1 and 30),
    content_hash   bytea not null check (length(content_hash) = 32),
    status         text not null default 'draft' check (status in
                     ('draft', 'pending_review', 'approved', 'rejected', 'published',
                      'unpublished', 'superseded')),
    approved_hash  bytea,
    reject_reason  text,
    live_from      timestamptz,
    live_until     timestamptz,
    created_by     uuid not null references users (id),
    created_at     timestamptz not null default now(),
    submitted_by   uuid references users (id),
    submitted_at   timestamptz,
    reviewed_by    uuid references users (id),
    reviewed_at    timestamptz,
    published_by   uuid references users (id),
    published_at   timestamptz,
    updated_at     timestamptz not null default now(),
    primary key (brochure_id, version),
    check (live_from is null or live_until is null or live_until > live_from),
    check (status not in ('approved', 'published') or approved_hash = content_hash)
);
-- One published version per brochure; the catalogue walks the published ones.
create unique index brochure_versions_published on brochure_versions (brochure_id)
    where status = 'published';
create index brochure_versions_review_queue on brochure_versions (submitted_at)
    where status = 'pending_review';

-- Offline sync: a brochure is in every user's partition, narrowed by org unit and by its live
-- window when pulled (a window edge passing is found by the pull itself: nothing is written).
-- Only a change to or from the published version concerns devices; drafts and reviews do not.
create function sync_brochures() returns trigger
language plpgsql as $$
begin
    insert into sync_log (user_id, entity, entity_key)
    select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure', n.brochure_id::text
      from new_rows n join old_rows o using (brochure_id, version)
     where (n.status = 'published' or o.status = 'published')
       and (n.status, n.live_from, n.live_until, n.content_hash)
           is distinct from (o.status, o.live_from, o.live_until, o.content_hash);
    return null;
end $$;

create trigger brochure_versions_sync_update after update on brochure_versions
    referencing old table as old_rows new table as new_rows
    for each statement execute function sync_brochures();
