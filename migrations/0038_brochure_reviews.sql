-- Compliance's decisions on brochure versions, kept as history.
--
-- A version's row holds only its latest review (`reviewed_by`, `reviewed_at`, `reject_reason`),
-- and a rejected version is edited and resubmitted in place: before this table a resubmission
-- lost who rejected it, when, why and what they rejected. Each approval and rejection is now a
-- row of its own, with the content decided on (as the version held it then): the review page
-- shows the last decision and what changed since, and the brochure's page the whole history.
--
-- Hashes and page image ids are hex text (as the API shows them), never ciphertext.
create table brochure_reviews (
    id            bigint generated always as identity primary key,
    brochure_id   uuid not null,
    version       int not null,
    decision      text not null check (decision in ('approved', 'rejected')),
    reason        text check (length(reason) between 1 and 500),
    content_hash  text not null check (content_hash ~ '^[0-9a-f]{64}$'),
    title         text not null,
    product_code  text not null,
    talk_track    text not null,
    tags          jsonb not null default '[]',
    pages         text[] not null check (cardinality(pages) between 1 and 30),
    reviewed_by   uuid not null references users (id),
    reviewed_at   timestamptz not null default now(),
    foreign key (brochure_id, version) references brochure_versions (brochure_id, version),
    check ((decision = 'rejected') = (reason is not null))
);
create index brochure_reviews_of on brochure_reviews (brochure_id, version, id);

-- The decisions still on record in the versions: a rejection not yet edited (its content is the
-- content rejected) and an approval still valid (its content is the content approved). An
-- approval voided by an edit, or a rejection of a version since resubmitted, left no record of
-- the content decided on, and stays out.
insert into brochure_reviews (brochure_id, version, decision, reason, content_hash, title,
                              product_code, talk_track, tags, pages, reviewed_by, reviewed_at)
select v.brochure_id, v.version,
       case when v.status = 'rejected' then 'rejected' else 'approved' end,
       case when v.status = 'rejected' then left(v.reject_reason, 500) end,
       encode(v.content_hash, 'hex'), v.title, v.product_code, v.talk_track, v.tags,
       array(select encode(p.image, 'hex') from unnest(v.pages) with ordinality p(image, n)
              order by p.n),
       v.reviewed_by, v.reviewed_at
  from brochure_versions v
 where v.reviewed_by is not null and v.reviewed_at is not null
   and ((v.status = 'rejected' and length(v.reject_reason) > 0)
        or (v.status <> 'rejected' and v.approved_hash = v.content_hash))
 order by v.reviewed_at, v.brochure_id, v.version;
