-- A branch head an admin moves to another unit, gives another role or disables hands the
-- unfinished work orders escalated to them to the branch head now over each one's unit
-- (workbench/workorders/handover.py, branch_head_left): queries.unfinished_held_by finds them by
-- `(assignee_id = $1 or escalated_to_id = $1) and state <> 'closed'`, in the admin's request.
-- work_orders_assignee serves the first half; nothing served the second, so every such change
-- read all of work_orders. This index holds only the work orders not closed (most are closed),
-- with the same predicate as the query, so the planner can use it for that half (a BitmapOr
-- with work_orders_assignee).
create index work_orders_escalated_to_open on work_orders (escalated_to_id)
    where state <> 'closed';
