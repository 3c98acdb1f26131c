-- Marking all read keeps to what the app was shown. A notification is dated by the start of the
-- transaction that wrote it (created_at = now()), so one written by a long transaction sorts
-- below others committed before it and was never shown above them; "everything up to the newest
-- shown" marked it read. Each notification now remembers the transaction that wrote it: a list
-- hands out its snapshot (`listed`), and read-all with it marks only the notifications that
-- snapshot could see. Rows written before this migration have none: every listing after it sees
-- them (the ALTER waited for any transaction still writing one).
--
-- Added without a default first, then given one: a volatile default on ADD COLUMN would rewrite
-- the table with this transaction's id in every existing row.
alter table notifications add column created_xid xid8;
alter table notifications alter column created_xid set default pg_current_xact_id();
