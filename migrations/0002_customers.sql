-- Customer butler: products, customers with encrypted personal data and blind indexes, holdings,
-- a timeline every feature writes to, recommendation rules, verification invitations,
-- and the in-app notification list.

create table products (
    code         text primary key check (code ~ '^[A-Za-z0-9._-]{1,40}$'),
    name         text not null check (length(name) between 1 and 200),
    category     text not null check (length(category) between 1 and 60),
    risk_level   smallint not null check (risk_level between 1 and 5),   -- R1..R5
    max_holding  numeric(20, 2) check (max_holding > 0),   -- per-customer cap; null = no cap
    active       boolean not null default true,
    updated_at   timestamptz not null default now()
);
create index products_category on products (category) where active;

-- Name, ID number and phone are stored only as AES-GCM ciphertext (key id inside each value)
-- and as HMAC-SHA256 blind indexes for equality lookups. Nothing here is plaintext.
create table customers (
    id              uuid primary key,
    external_id     text not null unique check (length(external_id) between 1 and 64),
    owner_id        uuid not null references users (id),
    name_enc        bytea not null,
    id_number_enc   bytea not null,
    phone_enc       bytea not null,
    name_bidx       bytea not null,
    surname_bidx    bytea not null,
    id_number_bidx  bytea not null,
    phone_bidx      bytea not null,
    risk_level      smallint not null check (risk_level between 1 and 5),   -- C1..C5
    segment         text check (length(segment) <= 40),
    tags            text[] not null default '{}',
    aum             numeric(20, 2) not null default 0 check (aum >= 0),
    verified_at     timestamptz,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
-- The RM's list: own customers by AUM, keyset on (aum, id).
create index customers_owner_aum on customers (owner_id, aum desc, id desc);
create index customers_name_bidx on customers (name_bidx);
create index customers_surname_bidx on customers (surname_bidx);
create index customers_id_number_bidx on customers (id_number_bidx);
create index customers_phone_bidx on customers (phone_bidx);
create index customers_tags on customers using gin (tags);

create table holdings (
    customer_id   uuid not null references customers (id) on delete cascade,
    product_code  text not null references products (code),
    amount        numeric(20, 2) not null check (amount >= 0),
    as_of         date not null,
    updated_at    timestamptz not null default now(),
    primary key (customer_id, product_code)
);

-- Everything that happened with a customer, newest first. Features append here through
-- workbench.timeline; (source, source_id) makes every writer idempotent.
create table customer_timeline (
    id           uuid primary key,
    customer_id  uuid not null references customers (id) on delete cascade,
    occurred_at  timestamptz not null,
    kind         text not null check (kind ~ '^[a-z_]+(\.[a-z_]+)?$'),
    actor_id     uuid references users (id),
    text_enc     bytea,              -- free text (e.g. a note) is personal data: encrypted
    data         jsonb not null default '{}',
    source       text not null,
    source_id    text not null,
    unique (source, source_id)
);
create index customer_timeline_by_customer on customer_timeline (customer_id, occurred_at desc, id desc);

-- Admin-editable ranking rules: when a customer matches `when_*`, products matching `product_*`
-- gain `weight`. Suitability and holding caps are enforced in SQL, whatever the rules say.
create table recommendation_rules (
    id                 uuid primary key,
    name               text not null check (length(name) between 1 and 100),
    when_segment       text,
    when_tag           text,
    when_holds_category text,
    when_min_aum       numeric(20, 2),
    product_code       text,
    product_category   text,
    weight             int not null check (weight between -1000 and 1000),
    created_at         timestamptz not null default now(),
    check (product_code is not null or product_category is not null)
);

create table verification_invites (
    id            uuid primary key,
    customer_id   uuid not null references customers (id) on delete cascade,
    created_by    uuid not null references users (id),
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null,
    attempts      smallint not null default 0,
    locked_at     timestamptz,
    completed_at  timestamptz
);
create index verification_invites_customer on verification_invites (customer_id);

-- The in-app notification centre (the push issue adds delivery through an outbox).
create table notifications (
    id          uuid primary key,
    user_id     uuid not null references users (id),
    category    text not null,
    title       text not null,
    body        text not null,
    data        jsonb not null default '{}',
    dedupe_key  text not null,
    created_at  timestamptz not null default now(),
    read_at     timestamptz,
    unique (user_id, dedupe_key)
);
create index notifications_by_user on notifications (user_id, created_at desc, id desc);
