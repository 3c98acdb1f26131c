-- The RMs' catalogue walks published versions newest first (keyset on published_at, brochure_id):
-- with this index it reads them in order and stops at the page, instead of reading and sorting
-- every published version, expired ones included, on every request.
create index brochure_versions_catalogue on brochure_versions (published_at desc, brochure_id desc)
    where status = 'published';
