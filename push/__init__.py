"""Push: device registry, notification outbox, provider adapters, reminder scheduling.

Built by the push issue; the outbox lives in PostgreSQL and arq workers claim rows with
FOR UPDATE SKIP LOCKED.
"""
