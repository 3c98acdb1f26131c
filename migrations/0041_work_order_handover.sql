-- A customer a bank feed moves to another RM takes their unfinished work orders along
-- (workbench/workorders/handover.py): the move is an event of its own on each work order,
-- `handed_over` (its data: the assignee and unit before and after), beside `opened`, each
-- `transition` and each `escalated`.
alter table work_order_events drop constraint work_order_events_kind_check;
alter table work_order_events add constraint work_order_events_kind_check
    check (kind in ('opened', 'transition', 'escalated', 'handed_over'));
