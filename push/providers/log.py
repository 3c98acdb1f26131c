"""The provider of the embedded default: a push is written to the log (token masked)."""

from __future__ import annotations

import logging

from push.providers.base import Outcome, Push

log = logging.getLogger("push.log_provider")


class LogProvider:
    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, push: Push) -> Outcome:
        log.info(
            "push delivered to the log",
            extra={
                "provider": self.name,
                "notification_id": str(push.notification_id),
                "category": push.category,
                "device_token": f"…{push.token[-4:]}",
                "critical": push.critical,
                "silent": push.silent,
            },
        )
        return Outcome("sent", reason="logged")

    async def aclose(self) -> None:
        return None


class Unconfigured:
    """A platform without credentials in production: every push to it fails visibly."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, push: Push) -> Outcome:
        return Outcome("failed", reason="provider_not_configured")

    async def aclose(self) -> None:
        return None
