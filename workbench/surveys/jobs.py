"""Every survey and work-order job of the worker."""

from __future__ import annotations

from workbench.surveys import delivery_jobs
from workbench.workorders import jobs as workorder_jobs

FUNCTIONS = [*delivery_jobs.FUNCTIONS, *workorder_jobs.FUNCTIONS]
CRON = [*delivery_jobs.CRON, *workorder_jobs.CRON]
