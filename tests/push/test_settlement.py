"""How a delivered notification ends, from every device's outcome (this round's and those
earlier attempts settled): pure rules, no database."""

from __future__ import annotations

import pytest

from push.settlement import Ending, ending


def end(*outcomes: str, retry_after: tuple[float, ...] = (), attempt: int = 2) -> Ending:
    return ending(set(outcomes), retry_after=retry_after, attempt=attempt, max_attempts=8)


def test_no_outcome_at_all_is_not_a_failure_of_every_device() -> None:
    assert end() == Ending("skipped", "no_device")
    assert end().status != "failed"


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (("sent",), Ending("sent")),
        (("sent", "folded", "failed", "dead_token"), Ending("sent")),
        (("folded",), Ending("folded", "device_cap")),
        (("folded", "dead_token"), Ending("folded", "device_cap")),
        (("folded", "failed"), Ending("folded", "device_cap")),
        (("failed", "dead_token"), Ending("failed", "provider_refused")),
        (("dead_token",), Ending("failed", "no_live_device")),
    ],
)
def test_a_device_reached_wins_then_one_folded_and_no_live_device_only_when_all_were_dead(
    outcomes: tuple[str, ...], expected: Ending
) -> None:
    assert end(*outcomes) == expected


def test_a_device_to_try_again_keeps_it_pending_until_the_last_attempt() -> None:
    pending = end("sent", "folded", retry_after=(30.0,), attempt=1)
    assert (pending.status, pending.reason) == ("pending", "retry")
    assert pending.retry_in is not None
    assert pending.retry_in >= 30.0
    assert end("sent", retry_after=(1.0,), attempt=8) == Ending("sent", "some_devices_gave_up")
    assert end(retry_after=(1.0,), attempt=8) == Ending("failed", "gave_up")
