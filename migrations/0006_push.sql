-- Push: device registrations, the notification outbox (the notification centre's own rows), the
-- record of every delivery attempt, per-user preferences, and reminder escalation.

-- A device's push registration with its provider. The push token is an identifier of a person's
-- phone: stored encrypted (AAD: the device id) with a blind index that keeps it unique.
create table push_registrations (
    device_id           text primary key references devices (device_id),
    user_id             uuid not null references users (id),
    provider            text not null check (provider in ('apns', 'fcm', 'hms')),
    token_cipher        bytea not null,
    token_index         bytea not null,
    app_version         text,
    active              boolean not null default true,
    registered_at       timestamptz not null default now(),
    deactivated_at      timestamptz,
    deactivated_reason  text,
    check (active = (deactivated_at is null))
);
create index push_registrations_by_user on push_registrations (user_id) where active;
-- One live registration per provider token (a token that moved to another device follows it).
create unique index push_registrations_live_token on push_registrations (provider, token_index)
    where active;

-- The outbox: every notification is a row here, listed in the user's notification centre once
-- its time has come, and pushed to their devices by the workers. Rows from before push existed
-- are marked as not to be pushed.
alter table notifications
    add column priority     text not null default 'normal'
                            check (priority in ('normal', 'critical')),
    add column silent       boolean not null default false,   -- a data-only poke (sync)
    add column in_app       boolean not null default true,    -- listed in the notification centre
    add column collapse_key text,
    add column send_at      timestamptz not null default now(),
    add column expires_at   timestamptz,
    add column subject_id   uuid,                             -- the task (etc.) it is about
    add column device_id    text,                             -- only this device (summaries)
    add column push_status  text not null default 'skipped'
                            check (push_status in ('pending', 'sent', 'failed', 'skipped',
                                                   'withdrawn', 'expired', 'collapsed', 'folded')),
    add column push_reason  text,
    add column lease_owner  uuid,
    add column lease_until  timestamptz,
    add column attempts     int not null default 0,
    add column pushed_at    timestamptz;
alter table notifications alter column push_status set default 'pending';
-- A row is updated as it is claimed, retried and settled: room on its page keeps the lease
-- updates HOT (no new index entries).
alter table notifications set (fillfactor = 70);
update notifications set push_reason = 'before_push';

-- Workers claim due rows from here.
create index notifications_push_due on notifications (send_at) where push_status = 'pending';
-- A newer notification with the same collapse key makes an older, held-back one obsolete.
create index notifications_collapse on notifications (user_id, collapse_key, created_at)
    where collapse_key is not null;
-- Moving or finishing a task finds its unsent reminders.
create index notifications_pending_subject on notifications (subject_id)
    where push_status = 'pending' and subject_id is not null;

-- One row per device per attempt: what the provider answered.
create table push_attempts (
    id               bigint generated always as identity primary key,
    notification_id  uuid not null references notifications (id) on delete cascade,
    device_id        text not null,
    provider         text not null,
    attempt          int not null,
    outcome          text not null
                     check (outcome in ('sending', 'sent', 'retry', 'failed', 'dead_token',
                                        'folded')),
    reason           text,
    status_code      int,
    alert            boolean not null,   -- a visible alert (counts towards the device cap)
    at               timestamptz not null default now()
);
create index push_attempts_by_notification on push_attempts (notification_id);
-- Per-device caps count what was sent in the last hour.
create index push_attempts_device_sent on push_attempts (device_id, at)
    where outcome in ('sent', 'sending') and alert;
create index push_attempts_device_folded on push_attempts (device_id, at) where outcome = 'folded';
create index push_attempts_at on push_attempts (at);

create table notification_preferences (
    user_id           uuid primary key references users (id),
    quiet_start       time,
    quiet_end         time,
    time_zone         text,                 -- IANA name; null = the bank's
    muted_categories  text[] not null default '{}',
    updated_at        timestamptz not null default now(),
    check ((quiet_start is null) = (quiet_end is null)),
    check (quiet_start is distinct from quiet_end or quiet_start is null)
);

-- Reminders move into the outbox shortly before they are due ('queued'); an overdue escalation
-- to the branch head is a reminder of kind 'overdue', added when the at-due reminder is queued.
alter table task_reminders drop constraint task_reminders_kind_check;
alter table task_reminders add constraint task_reminders_kind_check
    check (kind in ('before_due', 'at_due', 'overdue'));
alter table task_reminders drop constraint task_reminders_status_check;
alter table task_reminders add constraint task_reminders_status_check
    check (status in ('pending', 'queued', 'cancelled', 'sent'));
