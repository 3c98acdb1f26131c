"""Prometheus metrics of push delivery (per worker process; queue lag is read from the outbox)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from push.providers import Outcome
from workbench.security.vault import UNDECRYPTABLE


class PushMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sent = Counter(
            "workbench_push_sent_total", "pushes a provider accepted", ["provider"],
            registry=self.registry,
        )  # fmt: skip
        self.failed = Counter(
            "workbench_push_failed_total",
            "pushes a provider refused for good, by provider and reason",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.retried = Counter(
            "workbench_push_retried_total",
            "provider answers that will be tried again later, by provider and reason",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.deactivated = Counter(
            "workbench_push_tokens_deactivated_total",
            "device tokens a provider answered as dead",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.not_sent = Counter(
            "workbench_push_not_sent_total",
            "notifications not pushed: expired, withdrawn, collapsed, muted, no device, ...",
            ["status", "reason"],
            registry=self.registry,
        )
        self.deferred_total = Counter(
            "workbench_push_deferred_total", "notifications held back by quiet hours",
            registry=self.registry,
        )  # fmt: skip
        self.queue_lag = Gauge(
            "workbench_push_queue_lag_seconds",
            "now minus the schedule time of the oldest due notification not yet claimed",
            registry=self.registry,
        )
        # Process-wide: push tokens (and anything else) this worker could not decrypt.
        self.registry.register(UNDECRYPTABLE)

    def answered(self, provider: str, outcome: Outcome) -> None:
        reason = outcome.reason or "none"
        if outcome.kind == "sent":
            self.sent.labels(provider).inc()
        elif outcome.kind == "retry":
            self.retried.labels(provider, reason).inc()
        else:
            self.failed.labels(provider, reason).inc()

    def token_deactivated(self, provider: str, reason: str) -> None:
        self.deactivated.labels(provider, reason).inc()

    def dropped(self, status: str, reason: str) -> None:
        self.not_sent.labels(status, reason).inc()

    def deferred(self) -> None:
        self.deferred_total.inc()
