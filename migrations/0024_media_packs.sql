-- Brochure media packs (issue #16): each pack records the fingerprint of the RM's live catalogue
-- it was built from (SHA-256 over the sorted brochure id, version, content hash and ready
-- rendition keys of what was live for them), so the worker rebuilds a pack only when what is live
-- for its RM changed.
--
-- RMs with the same catalogue (every RM of a team, and most of a bank: head-office brochures
-- reach everyone) share one built pack: one file, one signed manifest and one version, recorded
-- once per RM (each row is what its owner may download). So a version is unique per app id and
-- owner (H5 packages have no owner: still one per app id); each RM's versions only go up.
alter table offline_packages
    add column catalogue_fingerprint text
        check (catalogue_fingerprint ~ '^[0-9a-f]{64}$'),
    add constraint offline_packages_fingerprint_media
        check (catalogue_fingerprint is null or kind = 'media'),
    drop constraint offline_packages_app_id_version_key,
    add constraint offline_packages_app_version_owner
        unique nulls not distinct (app_id, version, owner_id);
create index offline_packages_catalogue on offline_packages
    (app_id, catalogue_fingerprint, version desc) where catalogue_fingerprint is not null;
