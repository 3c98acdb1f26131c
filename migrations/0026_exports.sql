-- Exports of console tables (issue #17): a file asked for by one user, built by the worker when
-- it is too large to download at once. `params` holds the resolved view (unit, first and last
-- day) and the table's own filters, so the worker builds exactly what was asked and checks the
-- requester's scope again. The file lives in the blob store under `file_key` in `file_parts`
-- parts; it and its row are deleted after `expires_at`.
--
-- Claims: a worker takes a queued export (or a running one whose lease ran out: its worker
-- died) with FOR UPDATE SKIP LOCKED, stamps it with its own `claim`, and renews `lease_until`
-- with each progress write; only the holder of the claim may write progress or finish it.
create table exports (
    id            uuid primary key,
    requested_by  uuid not null references users (id),
    table_key     text not null check (table_key ~ '^[a-z0-9_]{1,64}$'),
    params        jsonb not null,
    format        text not null check (format in ('csv', 'xlsx')),
    state         text not null default 'queued'
                  check (state in ('queued', 'running', 'done', 'failed')),
    rows_done     bigint not null default 0 check (rows_done >= 0),
    rows_total    bigint not null default 0 check (rows_total >= 0),
    sheets        int,
    file_key      text,
    file_parts    int,
    size          bigint,
    filename      text not null,
    reason        text,
    attempts      int not null default 0,
    claim         uuid,
    lease_until   timestamptz,
    created_at    timestamptz not null default now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    expires_at    timestamptz not null,
    check (state <> 'done' or (file_key is not null and file_parts is not null and size is not null))
);
-- My exports, newest first.
create index exports_requested_by on exports (requested_by, created_at desc);
-- The same request while one is waiting or running joins it.
create unique index exports_one_at_a_time on exports (requested_by, table_key, params, format)
    where state in ('queued', 'running');
-- The worker's queue.
create index exports_waiting on exports (created_at) where state in ('queued', 'running');
create index exports_expiry on exports (expires_at);
