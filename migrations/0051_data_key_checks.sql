-- One row per data key id (WORKBENCH_DATA_KEYS): a fixed text sealed under that kid's key, written
-- the first time a command saw the kid (`insert ... on conflict do nothing`: processes starting
-- at once agree on one). Every command that encrypts or decrypts personal data opens the check
-- of each configured key before it starts, so a wrong key given under a right kid stops it before
-- it writes anything under that key. Rows are never rewritten: a kid names one key for good.
create table data_key_checks (
    kid         text primary key,
    sealed      bytea not null,
    created_at  timestamptz not null default now()
);
