-- Tracked shares: an RM shares a live brochure (optionally to one of their customers) as a short
-- link or a poster with a QR code; the public viewer's beacons are kept raw, with a verdict, and
-- rolled up per visitor of a share.
--
-- A share names what was shared as it was at that moment: the brochure and the version then
-- published, its product (conversions are attributed by product and customer), the RM and the
-- RM's org unit then (funnels group by unit; an RM moving later does not move old shares).
create table shares (
    id                uuid primary key,
    code              text not null unique check (code ~ '^[0-9A-Za-z]{8,12}$'),
    brochure_id       uuid not null references brochures (id),
    brochure_version  int not null,
    product_code      text not null references products (code),
    customer_id       uuid references customers (id),
    rm_id             uuid not null references users (id),
    org_unit_id       uuid not null references org_units (id),
    channel           text not null check (channel in ('wechat', 'sms', 'qr', 'link')),
    -- The id the app made for an offline share: a resent sync mutation finds the same share.
    client_ref        uuid unique,
    created_at        timestamptz not null default now(),
    foreign key (brochure_id, brochure_version) references brochure_versions (brochure_id, version)
);
create index shares_rm on shares (rm_id, created_at desc, id desc);
create index shares_unit on shares (org_unit_id, created_at);
create index shares_brochure on shares (brochure_id, created_at);
create index shares_attribution on shares (customer_id, product_code, created_at desc)
    where customer_id is not null;

-- Every beacon the viewer sent, as received, with the verdict of the bot rules of its time and
-- the reason. Kept whole so that a newer rule list can re-classify them and the rollups be rebuilt.
-- Partitioned by month of receipt: the worker creates partitions ahead and drops those past
-- retention. A beacon is stored once: its client event id with the moment its stream entry was
-- made (the same on every redelivery of that entry) is the key; a resend by the page with the same
-- event id is refused at the door (Redis) before it reaches the stream.
create table share_hits (
    received_at  timestamptz not null,
    event_id     uuid not null,
    share_id     uuid not null,
    visitor_id   text not null check (length(visitor_id) between 1 and 64),
    type         text not null check (type in ('open', 'page_view', 'heartbeat', 'cta')),
    page         int check (page between 1 and 30),
    ms           int check (ms between 0 and 3600000),
    ip           inet,
    user_agent   text not null default '' check (length(user_agent) <= 1000),
    verdict      text not null check (verdict in ('human', 'bot')),
    reason       text not null default '' check (length(reason) <= 200),
    primary key (event_id, received_at)
) partition by range (received_at);
create index share_hits_share on share_hits (share_id, received_at);

-- This month's and the next two months' partitions; the worker keeps creating them ahead (the
-- names are share_hits_YYYYMM, in UTC months).
do $$
declare
    month date := date_trunc('month', now() at time zone 'UTC');
begin
    for i in 0..2 loop
        execute format(
            'create table if not exists %I partition of share_hits for values from (%L) to (%L)',
            'share_hits_' || to_char(month + make_interval(months => i), 'YYYYMM'),
            (month + make_interval(months => i))::timestamp at time zone 'UTC',
            (month + make_interval(months => i + 1))::timestamp at time zone 'UTC'
        );
    end loop;
end $$;

-- What the funnels and share lists read: one row per (share, visitor) of human hits, kept by the
-- worker in the transaction that stores the hits (and rebuilt from share_hits after a
-- re-classification). Steps are flags, so a funnel counts rows and can never rise.
create table share_visitors (
    share_id      uuid not null references shares (id),
    visitor_id    text not null,
    first_open_at timestamptz,                     -- null: only hits without an open so far
    last_hit_at   timestamptz not null,
    dwell_ms      bigint not null default 0 check (dwell_ms >= 0),
    page_views    int not null default 0 check (page_views >= 0),
    clicked_at    timestamptz,
    primary key (share_id, visitor_id)
);
create index share_visitors_opened on share_visitors (share_id) where first_open_at is not null;
