-- Conversions the bank's systems report (a customer bought a product, or asked about it), each
-- attributed when it arrives to the last share of that product to that customer within the
-- attribution window, or to none. Idempotent by the bank's own id: a resent conversion finds its
-- row and changes nothing. Funnels count a share as converted from these rows.
create table conversions (
    id            uuid primary key,
    external_id   text not null unique check (length(external_id) between 1 and 64),
    customer_id   uuid not null references customers (id),
    product_code  text not null references products (code),
    kind          text not null check (kind in ('purchase', 'consult')),
    amount        numeric(20, 2) check (amount >= 0),
    occurred_at   timestamptz not null,
    share_id      uuid references shares (id),    -- null: no share within the window
    received_at   timestamptz not null default now()
);
-- Funnels: the conversions of a group's shares.
create index conversions_share on conversions (share_id) where share_id is not null;
-- A customer's conversions, newest first (timeline, re-attribution).
create index conversions_customer on conversions (customer_id, occurred_at desc);

-- Funnels over the whole bank (marketing) pick a period's shares by creation time; the other
-- indexes of shares lead with a unit, an RM or a brochure.
create index shares_created on shares (created_at);

-- What a funnel reads besides shares: per share, how many of its visitors opened it, of those how
-- many engaged (stayed 10 s or more, or clicked) and clicked, and how many conversions are
-- attributed to it, with the share's RM, unit, brochure and time to be scoped and grouped without
-- a join. Kept by statement triggers on share_visitors (the tracking worker's per-visitor rollup;
-- its inserts, updates and the deletes of a rebuild all count) and on conversions, in the writing
-- transaction. A visitor's row adds 1 to each count it qualifies for, so a heartbeat that changes
-- no count writes nothing here. A share without a row has none of these.
create table share_funnel (
    share_id     uuid primary key references shares (id) on delete cascade,
    rm_id        uuid not null,
    org_unit_id  uuid not null,
    brochure_id  uuid not null,
    created_at   timestamptz not null,
    openers      int not null default 0,
    engaged      int not null default 0,
    clickers     int not null default 0,
    conversions  int not null default 0
);
create index share_funnel_unit on share_funnel (org_unit_id, created_at);
create index share_funnel_rm on share_funnel (rm_id, created_at);
create index share_funnel_created on share_funnel (created_at);

-- Adds the part of each changed visitor row (+1 as it is now, -1 as it was) to its share's counts.
create function share_funnel_visitors() returns trigger
language plpgsql as $$
declare
    changed text := case tg_op
        when 'INSERT' then 'select 1 as sign, * from new_rows'
        when 'DELETE' then 'select -1 as sign, * from old_rows'
        else 'select 1 as sign, * from new_rows union all select -1, * from old_rows' end;
begin
    execute format($sql$
        insert into share_funnel as f (share_id, rm_id, org_unit_id, brochure_id, created_at,
                                       openers, engaged, clickers)
        select d.share_id, s.rm_id, s.org_unit_id, s.brochure_id, s.created_at,
               d.openers, d.engaged, d.clickers
          from (select share_id, sum(opener) as openers, sum(engager) as engaged,
                       sum(clicker) as clickers
                  from (select share_id,
                               sign * (first_open_at is not null)::int as opener,
                               sign * (first_open_at is not null
                                       and (dwell_ms >= 10000 or clicked_at is not null))::int
                                   as engager,
                               sign * (first_open_at is not null
                                       and clicked_at is not null)::int as clicker
                          from (%s) c) parts
                 group by share_id
                having sum(opener) <> 0 or sum(engager) <> 0 or sum(clicker) <> 0) d
          join shares s on s.id = d.share_id
         order by d.share_id
        on conflict (share_id) do update
           set openers = f.openers + excluded.openers,
               engaged = f.engaged + excluded.engaged,
               clickers = f.clickers + excluded.clickers
    $sql$, changed);
    return null;
end $$;

create trigger share_funnel_visitors_insert after insert on share_visitors
    referencing new table as new_rows
    for each statement execute function share_funnel_visitors();
create trigger share_funnel_visitors_update after update on share_visitors
    referencing old table as old_rows new table as new_rows
    for each statement execute function share_funnel_visitors();
create trigger share_funnel_visitors_delete after delete on share_visitors
    referencing old table as old_rows
    for each statement execute function share_funnel_visitors();

-- Counts each changed conversion (+1 as it is now, -1 as it was) on the share it is attributed to.
create function share_funnel_conversions() returns trigger
language plpgsql as $$
declare
    changed text := case tg_op
        when 'INSERT' then 'select 1 as sign, share_id from new_rows'
        when 'DELETE' then 'select -1 as sign, share_id from old_rows'
        else 'select 1 as sign, share_id from new_rows
              union all select -1, share_id from old_rows' end;
begin
    execute format($sql$
        insert into share_funnel as f (share_id, rm_id, org_unit_id, brochure_id, created_at,
                                       conversions)
        select d.share_id, s.rm_id, s.org_unit_id, s.brochure_id, s.created_at, d.n
          from (select share_id, sum(sign) as n from (%s) c
                 where share_id is not null
                 group by share_id
                having sum(sign) <> 0) d
          join shares s on s.id = d.share_id
         order by d.share_id
        on conflict (share_id) do update set conversions = f.conversions + excluded.conversions
    $sql$, changed);
    return null;
end $$;

create trigger share_funnel_conversions_insert after insert on conversions
    referencing new table as new_rows
    for each statement execute function share_funnel_conversions();
create trigger share_funnel_conversions_update after update on conversions
    referencing old table as old_rows new table as new_rows
    for each statement execute function share_funnel_conversions();
create trigger share_funnel_conversions_delete after delete on conversions
    referencing old table as old_rows
    for each statement execute function share_funnel_conversions();

-- The visitors recorded before this migration.
insert into share_funnel (share_id, rm_id, org_unit_id, brochure_id, created_at, openers, engaged,
                          clickers)
select s.id, s.rm_id, s.org_unit_id, s.brochure_id, s.created_at, v.openers, v.engaged,
       v.clickers
  from (select share_id,
               count(*) filter (where first_open_at is not null) as openers,
               count(*) filter (where first_open_at is not null
                                and (dwell_ms >= 10000 or clicked_at is not null)) as engaged,
               count(*) filter (where first_open_at is not null and clicked_at is not null)
                   as clickers
          from share_visitors
         group by share_id) v
  join shares s on s.id = v.share_id;
