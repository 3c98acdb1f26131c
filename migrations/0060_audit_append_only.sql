-- The audit trail is append-only: compliance reads it as the bank's record of who did what, so
-- no statement of the application (or of anyone connected as its user) may rewrite or remove a
-- row. UPDATE, DELETE and TRUNCATE are refused by statement triggers, which fire even when no
-- row matches (a `delete ... where false` is refused too), for every role, the table's owner
-- included. Nothing in the service updates or deletes audit rows (no retention job, no key
-- rotation: the rows hold ids, never personal data or ciphertext), so no path is let through.
--
-- A retention the bank decides on later is a DBA's operation, done on purpose and visibly:
-- `alter table audit_events disable trigger audit_events_append_only` in the same transaction
-- as the delete (it needs the table's owner, and the ALTER itself is in the server's log), or a
-- migration that adds a documented path. Logical replication applies rows with
-- session_replication_role = replica, where ordinary triggers do not fire (a replica follows
-- its primary, where the trigger did); only superusers may set it.
create function audit_events_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_events is append-only: % is refused', tg_op
        using errcode = 'restrict_violation',
              hint = 'Audit events are never changed or removed.';
end $$;

create trigger audit_events_append_only
    before update or delete or truncate on audit_events
    for each statement execute function audit_events_append_only();

-- The audit trail's filters (the console's 审计日志 page, GET /api/v1/audit-events), each newest
-- first: by kind, and by the object's id (the subject's part after its type: `brochure:<id>`).
-- By time and by actor are indexed since 0001.
create index audit_events_action on audit_events (action, occurred_at);
create index audit_events_object on audit_events
    ((substr(subject, strpos(subject, ':') + 1)), occurred_at);
