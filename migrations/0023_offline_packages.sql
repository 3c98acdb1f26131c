-- Offline packages (issue #16): signed H5 bundles and per-RM brochure media packs, the diffs
-- between them, gray releases with rollback, and what each device reports it installed.
--
-- A package is immutable once stored: its file (a zip of manifest.json, manifest.sig and files/...)
-- lives in the blob store under `packages/<sha256>.zip`; its signed manifest is kept here as well.
-- Versions only go up per app id (the next one is assigned under a row lock). Hashes are lowercase
-- hex SHA-256 of the package file, so a diff is keyed by the hash of the base it applies to, never
-- by a version number.

create table offline_packages (
    id               uuid primary key,
    app_id           text not null check (app_id ~ '^[a-z0-9][a-z0-9._:-]{0,99}$'),
    version          int not null check (version >= 1),
    kind             text not null check (kind in ('h5', 'media')),
    -- A media pack belongs to one RM (only they may download it); an H5 package to nobody.
    owner_id         uuid references users (id),
    sha256           text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    size             bigint not null check (size > 0),
    blob_key         text not null,
    manifest         jsonb not null,
    signature        text not null,
    key_id           text not null,
    min_app_version  text not null check (min_app_version ~ '^[0-9]+(\.[0-9]+){0,3}$'),
    issued_at        timestamptz not null,
    expires_at       timestamptz not null check (expires_at > issued_at),
    created_by       uuid references users (id),
    created_at       timestamptz not null default now(),
    unique (app_id, version),
    check ((kind = 'media') = (owner_id is not null))
);
create index offline_packages_sha256 on offline_packages (sha256);
create index offline_packages_owner on offline_packages (owner_id, app_id, version desc)
    where owner_id is not null;

-- A diff turns the package whose file hashes to `from_sha256` into `to_package_id`'s package.
create table offline_package_diffs (
    id             uuid primary key,
    from_sha256    text not null check (from_sha256 ~ '^[0-9a-f]{64}$'),
    to_package_id  uuid not null references offline_packages (id),
    sha256         text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    size           bigint not null check (size > 0),
    blob_key       text not null,
    created_at     timestamptz not null default now(),
    unique (from_sha256, to_package_id)
);
create index offline_package_diffs_to on offline_package_diffs (to_package_id);

-- A gray release of one package: to a sticky percentage of users, to org subtrees, to listed
-- users. Widened, paused, rolled back; at most one active-or-paused release per package.
create table offline_releases (
    id            uuid primary key,
    app_id        text not null,
    package_id    uuid not null references offline_packages (id),
    state         text not null default 'active'
                  check (state in ('active', 'paused', 'rolled_back')),
    percent       numeric(5, 2) not null default 0 check (percent between 0 and 100),
    org_unit_ids  uuid[] not null default '{}',
    user_ids      uuid[] not null default '{}',
    created_by    uuid references users (id),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);
create unique index offline_releases_open on offline_releases (app_id, package_id)
    where state in ('active', 'paused');
create index offline_releases_app on offline_releases (app_id, state);

-- What each device last reported it installed, per app id (one row per device and app id).
create table offline_package_installs (
    device_id    text not null references devices (device_id) on delete cascade,
    user_id      uuid not null references users (id),
    app_id       text not null,
    version      int not null check (version >= 1),
    sha256       text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    reported_at  timestamptz not null default now(),
    primary key (device_id, app_id)
);
create index offline_package_installs_app on offline_package_installs (app_id, version);
