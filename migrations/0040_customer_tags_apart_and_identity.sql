-- Customers' tags kept apart by who gave them, and the version of a customer's identity.
--
-- Tags: a bank feed replaced `tags` whole, so the tags the product adds (a survey answer's
-- option tags, `surveys.submission`) were wiped by the next feed, and a bank record sent again
-- unchanged compared as changed. Now the bank's tags are in `bank_tags` and the product's in
-- `product_tags`; a feed replaces only `bank_tags`. `tags` stays what everything reads (lists
-- and their tag filter with its GIN index, the 360° view, offline sync, survey selections,
-- recommendation rules): the bank's tags, then the product's the bank did not give, in the order
-- they were added. `bank_tags` is null on rows stored before this migration that no survey
-- tagged: their bank tags are `tags` less `product_tags` (`customer_tags_without`), so the
-- migration rewrites only the customers a survey tagged, not the whole table.
alter table customers
    add column bank_tags text[],
    add column product_tags text[] not null default '{}';

-- `tags` without the elements of `removed`, in its own order.
create function customer_tags_without(tags text[], removed text[]) returns text[]
language sql immutable parallel safe as $$
    select array(select t from unnest(tags) with ordinality x(t, n)
                  where t <> all(removed) order by n)
$$;

-- The product's tags of the customers surveys tagged so far, read back from the answers (the
-- options chosen and the tags those options carry in the version answered), in the order they
-- were given. A tag a feed wiped since is given back.
with given as (
    select r.customer_id, o.option ->> 'tag' as tag,
           min(r.submitted_at) as first_at, min(q.n * 1000 + o.m) as place
      from survey_responses r
      join survey_versions v on v.survey_id = r.survey_id and v.version = r.version
     cross join lateral jsonb_array_elements(v.questions) with ordinality q(question, n)
     cross join lateral jsonb_array_elements(coalesce(q.question -> 'options', '[]'))
                        with ordinality o(option, m)
     where r.customer_id is not null
       and coalesce(o.option ->> 'tag', '') <> ''
       and (r.answers -> (q.question ->> 'key') = o.option -> 'value'
            or (jsonb_typeof(r.answers -> (q.question ->> 'key')) = 'array'
                and r.answers -> (q.question ->> 'key') @> jsonb_build_array(o.option -> 'value')))
     group by r.customer_id, o.option ->> 'tag'
), added as (
    select customer_id, array_agg(tag order by first_at, place, tag) as tags
      from given group by customer_id
)
update customers c
   set product_tags = a.tags,
       bank_tags = customer_tags_without(c.tags, a.tags),
       tags = c.tags || customer_tags_without(a.tags, c.tags)
  from added a
 where a.customer_id = c.id;

-- Identity: a feed that changes a customer's name, ID number or phone clears their real-name
-- verification and counts up `identity_version`. An invitation keeps the version it was made
-- for: one made for an earlier identity no longer verifies anyone.
alter table customers add column identity_version int not null default 0;
alter table verification_invites add column identity_version int not null default 0;
