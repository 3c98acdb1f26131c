"""The team-task page of the staff console (/console/tasks): a branch head sees the open tasks
of their subtree (by RM, overdue ones marked) and hands a pending or started one to another RM
of it (转派), through the same reassign service and checks as the API."""

from workbench.tasks.console._pages import reassign_task, task_list

PAGES = [task_list, reassign_task]

__all__ = ["PAGES"]
