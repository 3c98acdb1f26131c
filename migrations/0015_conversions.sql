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
