-- Task inbox: versioned templates with typed forms, dispatches, tasks and their lifecycle,
-- attachments, customer QR confirmations, event rules, and the reminder outbox push reads.

-- Time-ordered UUIDs (version 7) for rows created in bulk inside SQL.
create function uuid7() returns uuid
language sql volatile parallel safe as $$
    select encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint)
                                      from 3)
                    from 1 for 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

create table task_templates (
    id               uuid primary key,
    owner_unit_id    uuid not null references org_units (id),  -- visible below and above it
    current_version  int not null default 1 check (current_version >= 1),
    created_by       uuid not null references users (id),
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);

-- Editing a template adds a version; tasks keep the version they were issued with.
create table task_template_versions (
    template_id     uuid not null references task_templates (id),
    version         int not null,
    name            text not null check (length(name) between 1 and 100),
    form            jsonb not null,
    requires_customer_confirmation boolean not null default false,
    sla_hours       int check (sla_hours between 1 and 8760),
    reminders       int[] not null default '{}',   -- minutes before the due time
    recurrence      text,                          -- RRULE in the bank's time zone
    created_by      uuid not null references users (id),
    created_at      timestamptz not null default now(),
    primary key (template_id, version)
);

create table dispatches (
    id                uuid primary key,
    template_id       uuid not null,
    template_version  int not null,
    title             text not null,
    due_at            timestamptz,
    org_unit_id       uuid references org_units (id),
    per_rm_cap        int check (per_rm_cap >= 1),
    recurring         boolean not null default false,
    anchor            timestamptz,                 -- start of a recurring series
    created_by        uuid not null references users (id),
    idempotency_key   text,
    request_hash      text not null,
    created           int not null,
    skipped           int not null,
    not_found         int not null default 0,
    created_at        timestamptz not null default now(),
    foreign key (template_id, template_version) references task_template_versions,
    unique (created_by, idempotency_key)
);

create table task_rules (
    id            uuid primary key,
    name          text not null check (length(name) between 1 and 100),
    event_kind    text not null,
    field         text not null,
    op            text not null check (op in ('eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in')),
    value         jsonb not null,
    template_id   uuid not null references task_templates (id),
    within_days   int not null check (within_days between 1 and 3650),
    due_in_hours  int not null default 72 check (due_in_hours between 1 and 8760),
    active        boolean not null default true,
    created_by    uuid not null references users (id),
    created_at    timestamptz not null default now()
);
create index task_rules_by_kind on task_rules (event_kind) where active;

create table tasks (
    id                uuid primary key,
    template_id       uuid not null,
    template_version  int not null,
    dispatch_id       uuid references dispatches (id),
    rule_id           uuid references task_rules (id),
    assignee_id       uuid not null references users (id),
    customer_id       uuid references customers (id),
    title             text not null,
    status            text not null default 'pending' check (status in
                        ('pending', 'in_progress', 'submitted', 'awaiting_confirmation',
                         'done', 'cancelled', 'expired')),
    due_at            timestamptz,
    expires_at        timestamptz,
    period_start      timestamptz,                  -- recurring tasks: their period
    form_values       jsonb,
    started_at        timestamptz,
    submitted_at      timestamptz,
    done_at           timestamptz,
    cancelled_at      timestamptz,
    expired_at        timestamptz,
    cancel_reason     text,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    foreign key (template_id, template_version) references task_template_versions
);
-- The inbox: open tasks of one RM by due time (no due time = last).
create index tasks_open_inbox on tasks (assignee_id, (coalesce(due_at, 'infinity')), id)
    where status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation');
create index tasks_by_assignee_created on tasks (assignee_id, created_at);
-- Recurring series look up their periods; one-off dispatches need no index of their own.
create index tasks_by_series on tasks (dispatch_id, period_start) where period_start is not null;
create index tasks_expiring on tasks (expires_at)
    where status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')
      and expires_at is not null;
-- A recurring series never has two tasks for the same RM, customer and period.
create unique index tasks_one_per_period on tasks
    (dispatch_id, assignee_id, (coalesce(customer_id, '00000000-0000-0000-0000-000000000000')),
     period_start)
    where period_start is not null;

create table task_rule_firings (
    rule_id      uuid not null references task_rules (id),
    customer_id  uuid not null references customers (id) on delete cascade,
    fired_at     timestamptz not null,
    task_id      uuid references tasks (id),
    primary key (rule_id, customer_id)
);

create table integration_events (
    id           bigint generated always as identity primary key,
    kind         text not null,
    customer_id  uuid references customers (id) on delete set null,
    occurred_at  timestamptz not null,
    data         jsonb not null default '{}',
    received_at  timestamptz not null default now()
);
create index integration_events_time on integration_events (received_at);

create table task_attachments (
    id            uuid primary key,
    task_id       uuid not null references tasks (id) on delete cascade,
    uploaded_by   uuid not null references users (id),
    kind          text not null check (kind in ('photo', 'signature')),
    content_type  text not null,
    byte_size     int not null,
    width         int not null,
    height        int not null,
    sha256        text not null,
    data          bytea not null,
    created_at    timestamptz not null default now()
);
create index task_attachments_task on task_attachments (task_id);

create table task_confirmations (
    id             uuid primary key,
    task_id        uuid not null references tasks (id) on delete cascade,
    created_by     uuid not null references users (id),
    created_at     timestamptz not null default now(),
    expires_at     timestamptz not null,
    used_at        timestamptz,
    rm_lat         double precision,
    rm_lng         double precision,
    customer_lat   double precision,
    customer_lng   double precision,
    distance_m     double precision,
    far_away       boolean
);
create index task_confirmations_task on task_confirmations (task_id);

-- The reminder outbox: one row per reminder of a task; the push service claims due rows.
create table task_reminders (
    id              uuid primary key,
    task_id         uuid not null references tasks (id) on delete cascade,
    user_id         uuid not null,  -- the task's assignee when written (no FK: it is the task's)
    kind            text not null check (kind in ('before_due', 'at_due')),
    offset_minutes  int not null default 0,
    send_at         timestamptz not null,
    status          text not null default 'pending' check (status in ('pending', 'cancelled', 'sent')),
    created_at      timestamptz not null default now(),
    unique (task_id, kind, offset_minutes)
);
create index task_reminders_due on task_reminders (send_at) where status = 'pending';
