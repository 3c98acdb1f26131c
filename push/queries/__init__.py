"""SQL of push, one private module per part, re-exported here: the only place that talks to
PostgreSQL for push."""

from push.queries._common import PUSH_USER_LOCKS, Record
from push.queries._outbox import (
    alerts_sent_last_hour,
    attempts_of,
    claim_due,
    claim_one,
    close_unanswered_attempts,
    deactivate_dead_tokens,
    delivery_in_flight,
    folded_since_last_summary,
    purge_attempts,
    queue_lag_seconds,
    record_answers,
    record_attempts,
    schedule_summaries,
    settle,
    settled_devices,
    superseded,
)
from push.queries._preferences import (
    KEEP,
    Keep,
    change_preferences,
    lock_preferences,
    preferences,
    retime_held,
)
from push.queries._registrations import (
    deactivate,
    device_of_user,
    lock_live_registrations,
    registration_of_user,
    save_registration,
)
from push.queries._reminders import (
    queue_due_reminders,
)

__all__ = [
    "KEEP",
    "PUSH_USER_LOCKS",
    "Keep",
    "Record",
    "alerts_sent_last_hour",
    "attempts_of",
    "change_preferences",
    "claim_due",
    "claim_one",
    "close_unanswered_attempts",
    "deactivate",
    "deactivate_dead_tokens",
    "delivery_in_flight",
    "device_of_user",
    "folded_since_last_summary",
    "lock_live_registrations",
    "lock_preferences",
    "preferences",
    "purge_attempts",
    "queue_due_reminders",
    "queue_lag_seconds",
    "record_answers",
    "record_attempts",
    "registration_of_user",
    "retime_held",
    "save_registration",
    "schedule_summaries",
    "settle",
    "settled_devices",
    "superseded",
]
