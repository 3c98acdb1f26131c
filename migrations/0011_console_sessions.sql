-- The staff web console (/console): a browser signs in like an app (a `web` device and an
-- identity session, so rate limits, audit, device binding and revocation all apply), and keeps
-- that sign-in in a cookie holding an opaque random token. Only the token's SHA-256 is stored:
-- a copy of the database holds no usable console session.
--
-- The identity session stays the truth: a console session whose identity session ended (sign
-- out, replaced, user changed), whose device was revoked or whose user was disabled is refused
-- on its next request. On top of that a console session ends after `WORKBENCH_CONSOLE_IDLE_MINUTES`
-- without a request (sliding) and at `expires_at` (an absolute lifetime), whatever happens.
create table console_sessions (
    token_hash    bytea primary key check (octet_length(token_hash) = 32),
    session_id    uuid not null unique references sessions (id) on delete cascade,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    expires_at    timestamptz not null,
    check (expires_at > created_at)
);
create index console_sessions_expiry on console_sessions (expires_at);

-- A console sign-in that timed out ends its identity session too, saying why.
alter table sessions drop constraint sessions_end_reason_check;
alter table sessions add constraint sessions_end_reason_check check (end_reason in (
    'logout', 'refresh_reuse', 'device_revoked', 'replaced', 'user_changed',
    'idle_timeout', 'expired'
));
