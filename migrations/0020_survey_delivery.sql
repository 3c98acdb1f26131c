-- Survey delivery in the worker: where a delivery has got to, so that a retried or interrupted
-- run goes on after the last recipient it finished (recipients are taken in id order, chunk by
-- chunk; each chunk's invitations, messages and this position commit together).
alter table survey_deliveries add column position uuid;

-- The outbox the bank's SMS or WeChat gateway reads, in order (created_at, id), is indexed by
-- 0017; reminders look for unanswered customer invitations whose last message is old enough.
create index survey_invitations_remind on survey_invitations (sent_at)
    where responded_at is null and customer_id is not null;
