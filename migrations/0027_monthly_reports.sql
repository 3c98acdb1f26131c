-- Monthly branch reports: one PDF per branch (an org unit where a branch head works) and month,
-- built by the worker on the first day of the next month or on request.
--
-- state: queued (waiting for a worker) -> building (claimed by one; `claim_id` names that build)
-- -> ready (the PDF is in the blob store under `blob_key`) | failed (`error` says why; a failed
-- build is never retried by itself, only by a new request). A request to rebuild sets the row
-- back to queued; the row stays one per (unit, month) and points at the newest file.
create table monthly_reports (
    id            uuid primary key,
    org_unit_id   uuid not null references org_units (id),
    month         date not null check (extract(day from month) = 1),
    state         text not null default 'queued'
                  check (state in ('queued', 'building', 'ready', 'failed')),
    requested_by  uuid references users (id),   -- null: queued by the monthly schedule
    requested_at  timestamptz not null default now(),
    claim_id      uuid,                         -- the build in progress (or last finished)
    claimed_at    timestamptz,
    attempts      int not null default 0 check (attempts >= 0),  -- claims since the request
    blob_key      text,
    size_bytes    bigint check (size_bytes >= 0),
    pages         int check (pages >= 0),
    built_at      timestamptz,                  -- when the current file was made
    builds        int not null default 0 check (builds >= 0),    -- files made so far
    error         text check (length(error) <= 500),
    unique (org_unit_id, month),
    check (state <> 'ready' or (blob_key is not null and built_at is not null))
);

-- The worker's claim: the oldest waiting (or abandoned) build first.
create index monthly_reports_waiting on monthly_reports (requested_at)
    where state in ('queued', 'building');
-- The console's list: newest months first.
create index monthly_reports_by_month on monthly_reports (month desc, org_unit_id);
