"""Push: offline mutations applied exactly once, in order, through the API's own services.

A batch belongs to one client (an app install). Its row in `sync_clients` is locked, every
mutation the client was not answered for yet runs in its own savepoint, in the batch's order,
and its id is added to the client's answered ids in the same transaction: a batch retried after
a lost answer finds those ids answered and answers what it answered then (`sync_answers`: a
rejection or a conflict again, `duplicate` for what was applied; an id sent again with other
content is refused, `sync.mutation_id_reused`); two pushes racing for one client take turns.
Only an id answered before is a duplicate: a mutation that arrives after a later one of its
client (two pushes of one app in flight, the later first) still runs, under the same rules as
any mutation made offline, instead of being dropped as done.

Each mutation names the API operation it performs and goes through the same service function,
with the same role and scope checks, so an offline write obeys every rule an online one does.
Conflict policy (also in the README):
- task.start / task.submit / task.cancel: the server's status wins. If the task moved on while
  the app was offline (the branch head cancelled it, it expired, it was already submitted), the
  mutation is a `conflict` and carries the task as the server has it; the app shows it and
  keeps the RM's draft locally.
- task.reschedule: last writer wins while the task is open; a closed task is a `conflict`.
- note.add: notes only accumulate; the note id made on the device makes a resend harmless.
- notification.read: idempotent, never conflicts.
- work_order.transition: the server's state wins. A work order moved on while the app was
  offline (the branch head resolved it, someone closed it) so that the step no longer applies
  is a `conflict` carrying the work order as the device carries it (`SyncWorkOrder`), as is
  a step whose `from` is not the state now (a late start never reopens a resolved one); the app
  shows it and keeps the note locally. A work order that left the user's hands (reassigned to
  someone else) is rejected `work_order.not_found`, as online. A step applied is in the audit
  trail as online (`work_order.transitioned`), with the push's address (`Context.client_ip`).
- share.create: the `client_ref` made on the device makes a resend (or the same share made
  online) answer the same share; a brochure no longer live by the time of the push is rejected
  (`brochure.not_found`), as online. A share is no sync entity: a retried batch's `duplicate`
  carries the share again in `result` (found by its `client_ref`, writing nothing), so
  an app that lost the first answer still gets its link.
Anything that can never succeed (bad arguments, a value the database refuses, a role that may not
do it, an object the user cannot see, answers that do not fit the form) is `rejected` with the
API's error code, and the mutations after it still run.

Times: work done offline is recorded at the time the RM did it, not when the push arrives. A
mutation's `occurred_at` (the device's clock) is the time of what it records: a note's time
(note.add), a task's started_at (task.start), submitted_at (task.submit; done_at and the
timeline's task.done entry too when the task is done at once) and cancelled_at (task.cancel);
other mutations ignore it. A phone's clock may be wrong and a time may be backdated, so it is
believed only if it is not ahead of the server's clock, not older than
WORKBENCH_SYNC_OFFLINE_MAX_DAYS and, for a task, not before the task's previous step (see
`workbench.tasks.lifecycle`); otherwise the server's time is recorded, as without `occurred_at`,
and the mutation applies all the same: an RM's work is never refused for a clock. (A time a
little ahead, a clock running fast, is work done just now: the server's time is that time. A
stamp in the future would make work done before its due time late.) The time changes no
decision: a task the server moved on while the app was offline is a conflict whatever the time.
It is not part of what a mutation is (`_digest`): a retry that stamps its mutations anew is
still the same mutation, answered as before, with the time stored the first time.

One private module per role, re-exported here:
- `_batch`: the batch runner (`push`, each mutation applied in its savepoint; `KEPT_GAPS`,
  read here in the package, where a test may set it; `MutationOrder`)
- `_operations`: the operations a mutation may name, each through its service, and their table
  (`OPERATIONS`, with the roles that may perform each; `WorkOrderMovedOn`)
- `_answers`: the answers (a rejection, what is kept for a retry, an id answered before)
- `_context`: what an operation is and runs with (`Context`, `Operation`)
"""

from sync.mutations._batch import KEPT_GAPS, MutationOrder, push
from sync.mutations._context import (
    DEFAULT_OFFLINE_MAX_DAYS,
    Apply,
    Context,
    Operation,
    ServerRow,
)
from sync.mutations._operations import (
    ANYONE,
    OPERATIONS,
    RM,
    STAFF,
    TASK_MOVED_ON,
    WorkOrderMovedOn,
)

__all__ = [
    "ANYONE",
    "DEFAULT_OFFLINE_MAX_DAYS",
    "KEPT_GAPS",
    "OPERATIONS",
    "RM",
    "STAFF",
    "TASK_MOVED_ON",
    "Apply",
    "Context",
    "MutationOrder",
    "Operation",
    "ServerRow",
    "WorkOrderMovedOn",
    "push",
]
