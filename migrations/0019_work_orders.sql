-- Alert rules and work orders: a rule on a survey question opens a work order when an answer
-- matches; the work order has an assignee, an SLA, escalation to branch heads when overdue, and
-- is closed with a root cause from a configurable list.

-- Why a work order came about, as the bank classifies it; closing a work order names one of the
-- active causes. Deactivated causes stay for the work orders already closed with them.
create table work_order_root_causes (
    code        text primary key check (code ~ '^[a-z][a-z0-9_]{0,39}$'),
    label       text not null check (length(label) between 1 and 100),
    active      boolean not null default true,
    position    int not null default 0,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
insert into work_order_root_causes (code, label, position) values
    ('service_attitude', '服务态度不佳', 10),
    ('wait_time', '等候时间过长', 20),
    ('process', '业务流程繁琐', 30),
    ('product_fit', '产品不符合客户需求', 40),
    ('fees', '收费或费率争议', 50),
    ('system_fault', '系统或渠道故障', 60),
    ('communication', '沟通解释不到位', 70),
    ('environment', '网点环境与设施', 80),
    ('misunderstanding', '客户误解，已解释澄清', 90),
    ('other', '其他', 100);

-- A rule on one question of a survey. `value`: a number for nps and rating questions (lte, gte,
-- eq), an option value for choice questions (eq: chosen), a term for text answers (contains).
-- Rules of a survey apply in order (created_at, id); the first match opens the work order.
create table alert_rules (
    id            uuid primary key,
    survey_id     uuid not null references surveys (id),
    question_key  text not null,
    op            text not null check (op in ('lte', 'gte', 'eq', 'contains')),
    value         jsonb not null,
    assign_to     text not null check (assign_to in ('owner_rm', 'branch_head')),
    sla_hours     int not null check (sla_hours between 1 and 8760),
    sla_kind      text not null default 'hours' check (sla_kind in ('hours', 'business_hours')),
    active        boolean not null default true,
    created_by    uuid not null references users (id),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);
create index alert_rules_survey on alert_rules (survey_id, created_at, id);

-- One work order per answer, whatever rules match (`response_id` unique). `org_unit_id`: the
-- answer's unit (the customer's owning RM's unit, or the staff respondent's), by which branch
-- heads see it. The SLA is copied from the rule, so a later rule change leaves it be.
-- Escalation: at `next_escalation_at` (first the due time) a work order still not resolved goes
-- up one level (1: the branch head over the assignee; 2: the branch head above that one), at
-- most once per level; after level 2 `next_escalation_at` is null.
create table work_orders (
    id                  uuid primary key,
    response_id         uuid not null unique references survey_responses (id),
    rule_id             uuid not null references alert_rules (id),
    survey_id           uuid not null references surveys (id),
    customer_id         uuid references customers (id),          -- null: a staff survey
    respondent_id       uuid references users (id),              -- a staff survey's respondent
    assignee_id         uuid not null references users (id),
    org_unit_id         uuid not null references org_units (id),
    state               text not null default 'open'
                        check (state in ('open', 'in_progress', 'resolved', 'closed')),
    sla_hours           int not null,
    sla_kind            text not null check (sla_kind in ('hours', 'business_hours')),
    due_at              timestamptz not null,
    escalation_level    int not null default 0 check (escalation_level between 0 and 2),
    escalated_to_id     uuid references users (id),
    last_escalated_at   timestamptz,
    next_escalation_at  timestamptz,
    root_cause          text references work_order_root_causes (code),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    resolved_at         timestamptz,
    closed_at           timestamptz,
    check ((state = 'closed') = (closed_at is not null)),
    check (state <> 'closed' or root_cause is not null)
);
create index work_orders_assignee on work_orders (assignee_id, created_at desc, id desc);
create index work_orders_unit on work_orders (org_unit_id, created_at desc, id desc);
create index work_orders_customer on work_orders (customer_id) where customer_id is not null;
create index work_orders_rule on work_orders (rule_id);
-- The escalation job's scan: unresolved work orders whose next escalation is due.
create index work_orders_escalation on work_orders (next_escalation_at)
    where state in ('open', 'in_progress') and next_escalation_at is not null;
create index work_orders_overdue on work_orders (due_at)
    where state in ('open', 'in_progress');

-- What happened to a work order: opened, each transition (with its note), each escalation.
-- Notes are free text about customers: encrypted with the Vault (`note_enc`, the event id as
-- associated data).
create table work_order_events (
    id             uuid primary key,
    work_order_id  uuid not null references work_orders (id),
    kind           text not null check (kind in ('opened', 'transition', 'escalated')),
    from_state     text,
    to_state       text,
    actor_id       uuid references users (id),   -- null: the system (a rule, the escalation job)
    note_enc       bytea,
    root_cause     text references work_order_root_causes (code),
    data           jsonb not null default '{}',
    created_at     timestamptz not null default now()
);
create index work_order_events_work_order on work_order_events (work_order_id, created_at, id);
