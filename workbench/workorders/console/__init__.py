"""The work-order pages of the staff console (/console/work-orders): branch heads and admins work
the list (filters by state, overdue, unit and assignee; overdue ones lead, with how late) and a
work order (the answer that opened it with the customer masked, its events, the forms that move
it on); admins also keep the alert rules (add, pause and resume, edit, apply one to past
answers) and the list of root causes. Every page calls the work-order services with the
console's `Caller`, so scope and rules are exactly the API's: a work order of another subtree is
the 404 page."""

from workbench.workorders.console._admin import (
    add_rule,
    apply_rule,
    root_cause_list,
    rule_list,
    save_root_cause,
)
from workbench.workorders.console._pages import move_work_order, work_order_list, work_order_page
from workbench.workorders.console._rule_edit import edit_rule, edit_rule_form, switch_rule

PAGES = [
    work_order_list,
    rule_list,
    add_rule,
    apply_rule,
    switch_rule,
    edit_rule_form,
    edit_rule,
    root_cause_list,
    save_root_cause,
    work_order_page,
    move_work_order,
]

__all__ = ["PAGES"]
