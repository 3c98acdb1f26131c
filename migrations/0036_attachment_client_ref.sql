-- A photo or signature uploaded again (the app's retry after its answer was lost on a field
-- network) is the same attachment: the app's `client_ref` for the upload names it, per uploader,
-- with the hash of the bytes sent (the same ref with other bytes is refused). `taken_at` is when
-- the photo was taken (the phone's time if plausible, else the upload's): the watermark says it.
alter table task_attachments
    add column client_ref uuid,
    add column source_sha256 text,
    add column taken_at timestamptz;
update task_attachments set taken_at = created_at;
alter table task_attachments alter column taken_at set not null;
create unique index task_attachments_client_ref
    on task_attachments (uploaded_by, client_ref) where client_ref is not null;
