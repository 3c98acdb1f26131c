-- Surveys: a questionnaire drafted by admin or marketing, published as immutable versions, sent
-- as single-use invitations (customers: a link; staff: their inbox), answered once.
--
-- The draft's questions are edited in place; publishing copies them into a new version, which
-- never changes again. Invitations and responses keep the version they were sent and answered.
create table surveys (
    id                uuid primary key,
    title             text not null check (length(title) between 1 and 200),
    audience          text not null check (audience in ('customer', 'staff')),
    status            text not null default 'draft'
                      check (status in ('draft', 'published', 'archived')),
    questions         jsonb not null,                 -- the draft: a list of questions
    version           int not null default 0 check (version >= 0),  -- latest published; 0: none
    -- Customer surveys only: sent to the task's customer when a task of this template is done.
    after_template_id uuid references task_templates (id),
    owner_unit_id     uuid not null references org_units (id),      -- the author's unit
    created_by        uuid not null references users (id),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    check (after_template_id is null or audience = 'customer')
);
create index surveys_updated on surveys (updated_at desc, id desc);
create index surveys_after_template on surveys (after_template_id)
    where after_template_id is not null and status = 'published';

create table survey_versions (
    survey_id     uuid not null references surveys (id),
    version       int not null check (version >= 1),
    title         text not null,
    audience      text not null check (audience in ('customer', 'staff')),
    questions     jsonb not null,
    published_by  uuid not null references users (id),
    published_at  timestamptz not null default now(),
    primary key (survey_id, version)
);

-- One request to send a survey to many recipients. A large one runs in the worker, recipient
-- chunk by chunk; `done` and `skipped` show its progress. `recipients` is what was asked for
-- (ids or a selection), kept so that a retried job resumes the same list.
create table survey_deliveries (
    id            uuid primary key,
    survey_id     uuid not null,
    version       int not null,
    source        text not null check (source in ('api', 'task', 'share', 'reminder')),
    requested_by  uuid not null references users (id),
    recipients    jsonb not null,
    status        text not null default 'queued'
                  check (status in ('queued', 'running', 'done', 'failed')),
    total         int not null default 0 check (total >= 0),
    done          int not null default 0 check (done >= 0),
    skipped       int not null default 0 check (skipped >= 0),   -- contact cap, not reachable
    error         text,
    created_at    timestamptz not null default now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    foreign key (survey_id, version) references survey_versions (survey_id, version)
);
create index survey_deliveries_survey on survey_deliveries (survey_id, created_at desc);
create index survey_deliveries_pending on survey_deliveries (created_at)
    where status in ('queued', 'running');

-- One recipient of one delivery: a customer (a single-use link) or a staff member (inbox).
-- The link's token is derived from the id with the server's key (nothing secret is stored);
-- only a submission uses it (`responded_at`). `org_unit_id`: the recipient's unit at sending
-- (a customer's owning RM's unit; a staff member's own), by which results are scoped.
create table survey_invitations (
    id                uuid primary key,
    survey_id         uuid not null,
    version           int not null,
    delivery_id       uuid references survey_deliveries (id),
    customer_id       uuid references customers (id),
    user_id           uuid references users (id),
    rm_id             uuid references users (id),     -- a customer's owning RM at sending
    org_unit_id       uuid not null references org_units (id),
    sent_by           uuid not null references users (id),
    task_id           uuid references tasks (id),     -- sent after this task was done
    sent_at           timestamptz not null default now(),
    expires_at        timestamptz not null,
    reminders         int not null default 0 check (reminders >= 0),
    last_reminded_at  timestamptz,
    responded_at      timestamptz,
    foreign key (survey_id, version) references survey_versions (survey_id, version),
    check (num_nonnulls(customer_id, user_id) = 1)
);
create unique index survey_invitations_delivery_customer
    on survey_invitations (delivery_id, customer_id) where customer_id is not null;
create unique index survey_invitations_delivery_user
    on survey_invitations (delivery_id, user_id) where user_id is not null;
create unique index survey_invitations_task
    on survey_invitations (survey_id, task_id) where task_id is not null;
create index survey_invitations_survey on survey_invitations (survey_id, org_unit_id, sent_at);
create index survey_invitations_customer on survey_invitations (customer_id, sent_at desc)
    where customer_id is not null;
create index survey_invitations_inbox on survey_invitations (user_id, sent_at desc)
    where user_id is not null;
create index survey_invitations_unanswered on survey_invitations (survey_id, sent_at)
    where responded_at is null;

-- An answered invitation. The invitation's id is unique here: a second submission finds the
-- first and changes nothing. `answers`: every answered question's value by key, text answers
-- left out (they are personal data): they are in `texts_enc`, a JSON object by key encrypted
-- with the response id as associated data.
create table survey_responses (
    id             uuid primary key,
    invitation_id  uuid not null unique references survey_invitations (id),
    survey_id      uuid not null,
    version        int not null,
    customer_id    uuid references customers (id),
    user_id        uuid references users (id),
    rm_id          uuid references users (id),
    org_unit_id    uuid not null references org_units (id),
    answers        jsonb not null,
    texts_enc      bytea,
    submitted_at   timestamptz not null default now(),
    foreign key (survey_id, version) references survey_versions (survey_id, version)
);
create index survey_responses_survey on survey_responses (survey_id, org_unit_id, submitted_at);
create index survey_responses_customer on survey_responses (customer_id, submitted_at desc)
    where customer_id is not null;

-- Every survey message to a customer (an invitation sent, a reminder), for the contact cap across
-- surveys and reminders, and as the outbox the bank's SMS or WeChat gateway reads.
create table survey_messages (
    id             uuid primary key,
    customer_id    uuid not null references customers (id),
    invitation_id  uuid not null references survey_invitations (id),
    kind           text not null check (kind in ('invitation', 'reminder')),
    seq            int not null check (seq >= 0),   -- 0: the invitation; n: the n-th reminder
    created_at     timestamptz not null default now(),
    unique (invitation_id, seq),
    check ((kind = 'invitation') = (seq = 0))
);
create index survey_messages_customer on survey_messages (customer_id, created_at desc);
create index survey_messages_outbox on survey_messages (created_at, id);
