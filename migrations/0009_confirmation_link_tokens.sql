-- Customer QR confirmation links become short random tokens (16 bytes, 22 characters in the
-- link) instead of signed JWTs of about 480 characters, so that the QR code is coarse enough to
-- scan at arm's length. The server keeps only the SHA-256 of a token: a copy of the database
-- holds no usable link. Rows made before this migration have no hash; their links (JWTs, valid
-- for 15 minutes) now read "link invalid" and the RM shows a fresh QR code.
alter table task_confirmations
    add column token_hash bytea check (octet_length(token_hash) = 32);
create unique index task_confirmations_token_hash on task_confirmations (token_hash);
