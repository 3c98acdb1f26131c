-- Identity and org: org tree, users, devices, sessions with rotating refresh tokens, audit trail.

-- Org tree (head office -> branch -> sub-branch -> team) with a materialized path so that
-- "this unit and everything below it" is one index range scan.
create table org_units (
    id          uuid primary key,
    parent_id   uuid references org_units (id),
    name        text not null check (length(name) between 1 and 100),
    path        text collate "C" not null unique,   -- '/<root-id>/.../<id>/'
    depth       int not null check (depth >= 0),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    check ((parent_id is null) = (depth = 0))
);
create unique index org_units_single_root on org_units ((true)) where parent_id is null;
create index org_units_parent on org_units (parent_id);

-- Ids of an org unit and all its descendants: the subtree scope every query applies in SQL.
create function org_subtree(root uuid) returns setof uuid
language sql stable parallel safe as $$
    select d.id
    from org_units r
    join org_units d on d.path >= r.path and d.path < r.path || '~'
    where r.id = root
$$;

create table users (
    id             uuid primary key,
    login          text not null check (login ~ '^[A-Za-z0-9._@-]{1,64}$'),
    name           text not null check (length(name) between 1 and 100),
    role           text not null check (role in ('rm', 'branch_head', 'marketing', 'compliance', 'admin')),
    org_unit_id    uuid not null references org_units (id),
    password_hash  text not null,
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create unique index users_login_key on users (lower(login));
create index users_org_unit on users (org_unit_id, id);

-- A device is bound to the user who last signed in on it; revoking it blocks it until restored.
create table devices (
    device_id      text primary key,
    user_id        uuid not null references users (id),
    platform       text not null check (platform in ('ios', 'android', 'harmony', 'web')),
    model          text,
    app_version    text,
    first_seen_at  timestamptz not null default now(),
    last_seen_at   timestamptz not null default now(),
    revoked_at     timestamptz,
    revoked_by     uuid references users (id)
);
create index devices_user on devices (user_id);

-- A session is one sign-in on one device: the family of its rotating refresh tokens.
create table sessions (
    id            uuid primary key,
    user_id       uuid not null references users (id),
    device_id     text not null references devices (device_id),
    created_at    timestamptz not null default now(),
    refreshed_at  timestamptz,
    ended_at      timestamptz,
    end_reason    text check (end_reason in
                    ('logout', 'refresh_reuse', 'device_revoked', 'replaced', 'user_changed')),
    check ((ended_at is null) = (end_reason is null))
);
create index sessions_open_by_device on sessions (device_id) where ended_at is null;
create index sessions_open_by_user on sessions (user_id) where ended_at is null;

-- Refresh tokens are stored only as SHA-256 of the opaque value; each is usable once.
create table refresh_tokens (
    token_hash  bytea primary key,
    session_id  uuid not null references sessions (id) on delete cascade,
    issued_at   timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz
);
create index refresh_tokens_session on refresh_tokens (session_id);
create index refresh_tokens_expiry on refresh_tokens (expires_at);

-- Security-relevant events for compliance review. Never holds secrets or personal data.
create table audit_events (
    id           bigint generated always as identity primary key,
    occurred_at  timestamptz not null default now(),
    actor_id     uuid references users (id),
    action       text not null,
    subject      text,
    client_ip    inet,
    detail       jsonb not null default '{}'
);
create index audit_events_time on audit_events (occurred_at);
create index audit_events_actor on audit_events (actor_id, occurred_at);
