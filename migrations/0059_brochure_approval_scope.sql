-- What a brochure approval covers besides the content hash, and who took a brochure down and why.
--
-- Before this migration an approval was bound to the content hash only, so (1) marketing could
-- publish again a brochure compliance had unpublished, (2) the product feed could change the
-- product's risk level under an approved brochure that stayed live, and (3) marketing could
-- publish an approved version for any window, an expired one again for years. Now:
--
-- * `approved_risk_level`: the product's risk level compliance approved the version at. A
--   version is live only while its product still has that level (workbench.brochures.queries
--   .LIVE, as for a withdrawn product): a feed that changes it takes the brochure off RMs,
--   links, devices and media packs at once until compliance approves it again. Every approval
--   carries one: one written without it (plain SQL, a restore) takes the product's level then.
-- * `requested_from`/`requested_until`: the live window marketing submitted for review;
--   `approved_from`/`approved_until`: the window compliance approved (null: unbounded). Publishing
--   outside it, or once it has passed, needs a new review.
-- * `unpublished_by`/`unpublished_at`/`unpublish_reason`: who took the version down, when and
--   why; `withdrawn`: compliance (or an admin) withdrew it, which voided its approval
--   (`approved_hash` null): it is published again only after a new submission and approval.
alter table brochure_versions
    add column approved_risk_level smallint check (approved_risk_level between 1 and 5),
    add column requested_from timestamptz,
    add column requested_until timestamptz,
    add column approved_from timestamptz,
    add column approved_until timestamptz,
    add column unpublished_by uuid references users (id),
    add column unpublished_at timestamptz,
    add column unpublish_reason text check (length(unpublish_reason) between 1 and 500),
    add column withdrawn boolean not null default false,
    add check (requested_from is null or requested_until is null
               or requested_until > requested_from),
    add check (approved_from is null or approved_until is null or approved_until > approved_from),
    add check (not withdrawn or (status = 'unpublished' and approved_hash is null
                                 and unpublish_reason is not null));

-- The approvals given before: at the product's risk level now (the level RMs see beside them),
-- and, for a version that was published, for the window it was published with (the only
-- window on record; an expired one is not revived without a review). A version approved but
-- never published keeps an unbounded approval, as it was given.
update brochure_versions v
   set approved_risk_level = p.risk_level
  from products p
 where p.code = v.product_code and v.approved_hash is not null;
update brochure_versions
   set approved_until = live_until
 where approved_hash is not null and published_at is not null and live_until is not null;

create function brochure_approval_risk() returns trigger
language plpgsql as $$
begin
    if new.approved_hash is not null and new.approved_risk_level is null then
        select p.risk_level into new.approved_risk_level
          from products p where p.code = new.product_code;
    end if;
    return new;
end $$;

create trigger brochure_versions_approval_risk before insert or update on brochure_versions
    for each row execute function brochure_approval_risk();

alter table brochure_versions
    add check (status not in ('approved', 'published') or approved_risk_level is not null);

-- The review history also keeps withdrawals (with their reason), and what each decision covered
-- besides the content: the product's risk level and the window submitted (null before this).
alter table brochure_reviews drop constraint brochure_reviews_decision_check;
alter table brochure_reviews drop constraint brochure_reviews_check;
alter table brochure_reviews
    add column risk_level smallint check (risk_level between 1 and 5),
    add column live_from timestamptz,
    add column live_until timestamptz,
    add constraint brochure_reviews_decision_check
        check (decision in ('approved', 'rejected', 'withdrawn')),
    add constraint brochure_reviews_check
        check ((decision in ('rejected', 'withdrawn')) = (reason is not null));
