-- A brochure is live only while the bank offers its product (workbench.brochures.queries.LIVE:
-- `products.active`, from the product feed). A product withdrawn (active false) takes its
-- brochures off devices, offered again puts them back: the change reaches the device as a change
-- of each brochure (a delete, then the row again), as a new name or risk level does (0033, which
-- this replaces, adds `active` to what is compared).
create or replace function sync_brochure_products() returns trigger
language plpgsql as $$
begin
    execute $sql$
    insert into sync_log (user_id, entity, entity_key)
    select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'brochure',
           v.brochure_id::text
      from new_rows n
      join old_rows o on o.code = n.code
      join brochure_versions v on v.product_code = n.code
                              and (v.status = 'published' or v.replaced_at > now())
     where (n.name, n.category, n.risk_level, n.active)
           is distinct from (o.name, o.category, o.risk_level, o.active)
    $sql$;
    return null;
end $$;
