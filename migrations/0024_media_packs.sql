-- Brochure media packs (issue #16): each pack records the fingerprint of the RM's live catalogue
-- it was built from (SHA-256 over the sorted brochure id, version, content hash and ready
-- rendition keys of what was live for them), so the worker rebuilds a pack only when what is live
-- for its RM changed, and RMs with the same catalogue are found by one equality.
alter table offline_packages
    add column catalogue_fingerprint text
        check (catalogue_fingerprint ~ '^[0-9a-f]{64}$'),
    add constraint offline_packages_fingerprint_media
        check (catalogue_fingerprint is null or kind = 'media');
