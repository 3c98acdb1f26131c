"""How a notification that was handed to its user's devices ends: from what every device got,
this round's provider answers and folds together with what earlier attempts settled. A worker
killed after settling some devices (folded, or sent when its lease ran out before it recorded)
leaves them to the worker that takes the notification over, which does not go back to them but
must still end the notification by them. Pure, like `policies`, so tested without a database."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from push import policies


@dataclass(frozen=True, slots=True)
class Ending:
    status: str  # sent, folded, failed, skipped; pending: tried again after `retry_in` seconds
    reason: str | None = None
    retry_in: float | None = None


def ending(
    outcomes: Collection[str],
    *,
    retry_after: Sequence[float],
    attempt: int,
    max_attempts: int,
) -> Ending:
    """The notification's end, from each device's outcome ('sent', 'folded', 'failed',
    'dead_token': this round's and earlier attempts') and the Retry-After of the devices that
    asked to be tried again this round. Reaching one device makes it sent; else one folded over
    the cap makes it folded (the summary tells of it); only when every device's token was dead is
    it `no_live_device`. No outcome at all (nothing was left to any device) is not a failure."""
    if retry_after:
        if attempt >= max_attempts:
            if "sent" in outcomes:
                return Ending("sent", "some_devices_gave_up")
            return Ending("failed", "gave_up")
        return Ending("pending", "retry", policies.retry_delay(attempt, max(retry_after)))
    if "sent" in outcomes:
        return Ending("sent")
    if "folded" in outcomes:
        return Ending("folded", "device_cap")
    if "failed" in outcomes:
        return Ending("failed", "provider_refused")
    if "dead_token" in outcomes:
        return Ending("failed", "no_live_device")
    return Ending("skipped", "no_device")
