-- A moved task's expiry follows the terms it was issued with, never the history of its moves.
-- Moving a due time set `expires_at = greatest(expires_at, new due + (expires_at - due_at))`:
-- the gap was measured from an expiry an earlier move had already pushed out, so moving a
-- recurring task's due time back and forth pushed its expiry out without limit (an RM could
-- keep a period's task from ever expiring). A move now sets
--     expires_at = greatest(issued_expires_at, new due + (issued_expires_at - issued_due_at))
-- so the same due time always gives the same expiry, a task never expires earlier than it was
-- issued to, and moving it back restores its expiry.
--
-- The task's own times are its terms until it is first moved; that move (the one statement
-- that moves a due time, `workbench.tasks.queries.set_due`) keeps them here, and nothing else
-- changes a task's due time or expiry. Both stay null for a task without an expiry (a move
-- leaves it without one) and for one never moved; `issued_due_at` is null with an
-- `issued_expires_at` for a task that had an expiry but no due time (its expiry then stays).
--
-- Existing rows are not rewritten. A task never moved before this migration gets exactly the
-- terms it was dispatched with at its first move. One moved before it has no record of its
-- earlier times (a move was not audited, and the sync log holds task ids only; a recurring
-- task's period end and the following period's end would take the rule and the bank's time
-- zone, which SQL cannot evaluate), so its times now are the best there is: its first move
-- takes them, which is what an UPDATE here would write (firing the sync log for every task to
-- no purpose). Its expiry never comes earlier than it is now, and its moves no longer push it.

alter table tasks
    add column issued_due_at     timestamptz,  -- the due time before its first move
    add column issued_expires_at timestamptz;  -- the expiry before it: never expires earlier
