"""Property tests for the pure push policies (push/policies.py), issue #5.

- Quiet hours (quiet_until): for random instants, random windows (same-day, overnight, touching
  midnight) and real time zones with and without daylight saving, a normal notification is held
  exactly while the user's wall clock shows a time inside the window, and released at the first
  instant the window is over: when the wall clock reads its end, or where a DST change makes the
  clock jump out of it. Never early, never late, never held twice. The expected release instant
  is found independently by walking the wall clock minute by minute.
- The fate of a due notification (decide), checked rule by rule and against a small reference
  model: expiry, closed tasks, muting, quiet hours, hourly device caps, summaries, notifications
  meant for one device, no devices at all, and devices already settled by earlier attempts.
- The retry back-off (retry_delay): grows with each attempt, never sooner than the provider's
  Retry-After, never longer than 15 minutes unless the provider asks for longer.

The daylight-saving corners (an end skipped by a spring-forward gap, an end read twice in a
fall-back hour, a gap swallowing the free time of a long window, a fall-back setting the clock back
before the window's start) are in the property test and pinned by named examples after it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st

from push.policies import (
    Decision,
    Defer,
    Deliver,
    Device,
    Drop,
    Due,
    Preferences,
    QuietHours,
    decide,
    quiet_until,
    retry_delay,
)
from workbench.notifications import categories

MINUTE = timedelta(minutes=1)
# A window is shorter than 24 wall-clock hours, but a spring-forward gap that swallows the time
# outside a long window makes the user wait for the next day's end.
LONGEST_HOLD = timedelta(hours=50)

ZONES = (
    "UTC",
    "Asia/Shanghai",
    "Asia/Kolkata",  # +05:30
    "Europe/London",  # DST at 01:00
    "America/New_York",  # DST at 02:00
    "Australia/Sydney",  # southern hemisphere DST
    "Australia/Lord_Howe",  # a half-hour DST shift
    "America/Havana",  # DST changes at midnight
    "America/Santiago",  # DST changes at midnight, southern hemisphere
)
LONDON, NEW_YORK, HAVANA = (
    ZoneInfo(z) for z in ("Europe/London", "America/New_York", "America/Havana")
)

FIRST_DAY = datetime(2020, 1, 1, tzinfo=UTC)
LAST_DAY = datetime(2031, 1, 1, tzinfo=UTC)

HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


def at(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """An instant given as a wall-clock reading in `zone`, in UTC like the delivery loop uses."""
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


def clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


# --- an independent reading of quiet hours ------------------------------------------------------


def inside(instant: datetime, quiet: QuietHours) -> bool:
    """Whether the user's wall clock shows a time in [start, end), overnight when start > end."""
    wall = instant.astimezone(quiet.tz).time()
    if quiet.start < quiet.end:
        return quiet.start <= wall < quiet.end
    return wall >= quiet.start or wall < quiet.end


def first_instant_outside(now: datetime, quiet: QuietHours) -> datetime:
    """The first instant after `now` at which the wall clock is outside the window. Offsets and
    window bounds are whole minutes in these zones, so the wall clock can only leave the window
    on a whole UTC minute: walking minute by minute finds it exactly."""
    instant = now.replace(second=0, microsecond=0) + MINUTE
    while inside(instant, quiet):
        instant += MINUTE
        assert instant - now < LONGEST_HOLD, "quiet hours never end"
    return instant


def offset_changes_at(instant: datetime, zone: ZoneInfo) -> bool:
    """Whether the wall clock jumps (a DST change) at `instant`."""
    return instant.astimezone(zone).utcoffset() != (instant - MINUTE).astimezone(zone).utcoffset()


def exists(day: date, wall: time, zone: ZoneInfo) -> bool:
    """Whether the wall clock shows `wall` on `day` (it does not inside a spring-forward gap)."""
    reading = datetime.combine(day, wall, tzinfo=zone)
    back = reading.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == reading.replace(tzinfo=None)


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """Every change of the zone's UTC offset from 2020 to 2030, to the minute."""
    tz = ZoneInfo(zone)
    found = []
    day = FIRST_DAY
    while day < LAST_DAY:
        offset = day.astimezone(tz).utcoffset()
        if (day + timedelta(days=1)).astimezone(tz).utcoffset() != offset:
            lo, hi = 0, 24 * 60  # minutes into the day: offset unchanged at lo, changed at hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if (day + mid * MINUTE).astimezone(tz).utcoffset() == offset:
                    lo = mid
                else:
                    hi = mid
            found.append(day + hi * MINUTE)
        day += timedelta(days=1)
    return tuple(found)


# --- strategies ---------------------------------------------------------------------------------

any_instant = st.datetimes(
    min_value=FIRST_DAY.replace(tzinfo=None),
    max_value=LAST_DAY.replace(tzinfo=None) - timedelta(days=2),
    timezones=st.just(UTC),
)
# Wall times where windows and clocks meet: midnight, DST transitions, the usual quiet hours.
EDGE_TIMES = tuple(
    time(hour, minute)
    for hour, minute in [
        (0, 0), (0, 1), (0, 20), (0, 30), (0, 40), (1, 0), (1, 10), (1, 30), (1, 50), (2, 0),
        (2, 30), (3, 0), (6, 0), (7, 0), (12, 0), (22, 0), (23, 0), (23, 30), (23, 59),
    ]
)  # fmt: skip
wall_times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)


def instants_in(zone: str) -> st.SearchStrategy[datetime]:
    """Random instants, two thirds of them shortly before (or after) one of the zone's DST
    transitions, so that many holds span one."""
    if not transitions(zone):
        return any_instant

    def near(hours_before: int, hours_after: int) -> st.SearchStrategy[datetime]:
        return st.builds(
            lambda transition, minutes, seconds: transition + minutes * MINUTE + seconds,
            st.sampled_from(transitions(zone)),
            st.integers(-hours_before * 60, hours_after * 60),
            st.sampled_from([timedelta(0), timedelta(seconds=30), timedelta(microseconds=1)]),
        )

    return st.one_of(any_instant, near(26, 3), near(3, 1))


@st.composite
def quiet_windows(draw: st.DrawFn, zone: str) -> QuietHours:
    start, end = draw(wall_times), draw(wall_times)
    if end == start:  # the API refuses an empty (or all-day) window
        end = time((start.hour + 1) % 24, start.minute)
    return QuietHours(start, end, ZoneInfo(zone))


@st.composite
def quiet_scenarios(draw: st.DrawFn) -> tuple[datetime, QuietHours]:
    zone = draw(st.sampled_from(ZONES))
    return draw(instants_in(zone)), draw(quiet_windows(zone))


# --- quiet_until ---------------------------------------------------------------------------------


@settings(max_examples=600, deadline=None, suppress_health_check=HEALTH)
@given(scenario=quiet_scenarios(), fractions=st.lists(st.floats(0, 1), min_size=1, max_size=5))
@example(  # 23:30 in Shanghai, quiet 22:00-07:00: held until 07:00 tomorrow
    scenario=(
        at(ZoneInfo("Asia/Shanghai"), 2025, 5, 1, 23, 30),
        QuietHours(clock("22:00"), clock("07:00"), ZoneInfo("Asia/Shanghai")),
    ),
    fractions=[0.5],
)
@example(  # 06:59:59 the next morning: held one more second
    scenario=(
        at(ZoneInfo("Asia/Shanghai"), 2025, 5, 2, 6, 59, 59),
        QuietHours(clock("22:00"), clock("07:00"), ZoneInfo("Asia/Shanghai")),
    ),
    fractions=[0.5],
)
@example(  # 07:00 sharp: the window is over
    scenario=(
        at(ZoneInfo("Asia/Shanghai"), 2025, 5, 2, 7),
        QuietHours(clock("22:00"), clock("07:00"), ZoneInfo("Asia/Shanghai")),
    ),
    fractions=[0.5],
)
@example(  # a window ending at midnight
    scenario=(at(LONDON, 2025, 7, 1, 23, 15), QuietHours(clock("21:00"), clock("00:00"), LONDON)),
    fractions=[0.1, 0.9],
)
@example(  # a window starting at midnight
    scenario=(at(NEW_YORK, 2025, 1, 1), QuietHours(clock("00:00"), clock("06:00"), NEW_YORK)),
    fractions=[0.1, 0.9],
)
@example(  # overnight across the spring-forward night in New York: 22:00 EST to 07:00 EDT
    scenario=(
        at(NEW_YORK, 2024, 3, 9, 22, 30),
        QuietHours(clock("22:00"), clock("07:00"), NEW_YORK),
    ),
    fractions=[0.3, 0.6],
)
@example(  # overnight across the fall-back night in London
    scenario=(at(LONDON, 2024, 10, 26, 23), QuietHours(clock("22:00"), clock("07:00"), LONDON)),
    fractions=[0.3, 0.6],
)
def test_a_notification_is_held_exactly_while_the_local_wall_clock_is_in_quiet_hours(
    scenario: tuple[datetime, QuietHours], fractions: list[float]
) -> None:
    now, quiet = scenario
    note(f"now {now.isoformat()} = {now.astimezone(quiet.tz).isoformat()} {quiet.tz.key}")
    answer = quiet_until(now, quiet)

    if not inside(now, quiet):
        assert answer is None
        return
    assert answer is not None
    assert answer > now

    expected = first_instant_outside(now, quiet)
    if any(now < t <= expected for t in transitions(quiet.tz.key)):
        event("the hold spans a DST change")
    assert answer == expected
    # Quiet hours end when the wall clock reads `end`, or where a DST change makes it jump out of
    # the window (over `end` in a spring-forward gap, back before `start` in a fall-back).
    local = answer.astimezone(quiet.tz)
    if local.time() != quiet.end:
        event("the wall clock jumped out of quiet hours")
        assert offset_changes_at(answer, quiet.tz)
    for fraction in fractions:
        between = now + (answer - now) * fraction
        if now < between < answer:
            assert inside(between, quiet), between
    # Deferred to the answer, the notification is not deferred again.
    assert quiet_until(answer, quiet) is None


def test_a_window_ending_inside_the_spring_forward_gap_ends_right_after_the_gap() -> None:
    # New York, 10 March 2024: clocks jump from 02:00 EST to 03:00 EDT; quiet 01:00-02:30.
    quiet = QuietHours(clock("01:00"), clock("02:30"), NEW_YORK)
    now = at(NEW_YORK, 2024, 3, 10, 1, 45)

    answer = quiet_until(now, quiet)

    # At 03:15 EDT the wall clock is past 02:30: the user is no longer in quiet hours.
    assert not inside(at(NEW_YORK, 2024, 3, 10, 3, 15), quiet)
    assert answer == at(NEW_YORK, 2024, 3, 10, 3, 0)


def test_in_the_repeated_fall_back_hour_the_hold_ends_at_the_second_reading_of_the_end() -> None:
    # London, 27 October 2024: 02:00 BST becomes 01:00 GMT; quiet 00:30-01:30 (or 22:00-01:30).
    for start in ("00:30", "22:00"):
        quiet = QuietHours(clock(start), clock("01:30"), LONDON)
        now = at(LONDON, 2024, 10, 27, 1, 10, fold=1)  # 01:10 GMT, the second time round

        answer = quiet_until(now, quiet)

        assert answer == at(LONDON, 2024, 10, 27, 1, 30, fold=1)
        assert quiet_until(answer, quiet) is None


def test_a_long_overnight_window_ends_when_the_fall_back_hour_shows_its_end_again() -> None:
    # London, 27 October 2024, quiet 01:50-01:10 (23 h 20 min). At 01:55 BST the window is on;
    # the clock falls back to 01:00 GMT and reads 01:10 again 15 minutes later.
    quiet = QuietHours(clock("01:50"), clock("01:10"), LONDON)
    now = at(LONDON, 2024, 10, 27, 1, 55)

    answer = quiet_until(now, quiet)

    assert not inside(at(LONDON, 2024, 10, 27, 1, 10, fold=1), quiet)
    assert answer == at(LONDON, 2024, 10, 27, 1, 10, fold=1)  # not 28 October


def test_a_long_window_whose_free_time_a_gap_swallows_is_not_released_inside_it() -> None:
    # Havana, 10 March 2024: 00:00 CST jumps to 01:00 CDT; quiet 00:40-00:20 (23 h 40 min), so the
    # wall clock never leaves the window that day (it skips 00:20-00:40 entirely).
    quiet = QuietHours(clock("00:40"), clock("00:20"), HAVANA)
    now = at(HAVANA, 2024, 3, 9, 23, 50)

    answer = quiet_until(now, quiet)

    assert answer is not None
    assert not inside(answer, quiet)
    assert answer == at(HAVANA, 2024, 3, 11, 0, 20)


def test_a_fall_back_that_sets_the_clock_back_before_the_window_ends_quiet_hours() -> None:
    # Havana, 3 November 2024: 01:00 CDT becomes 00:00 CST; quiet 00:30-07:00. At 00:45 CDT the
    # window is on; when the clock falls back it reads 00:00, before the window starts.
    quiet = QuietHours(clock("00:30"), clock("07:00"), HAVANA)
    now = at(HAVANA, 2024, 11, 3, 0, 45)

    answer = quiet_until(now, quiet)

    assert answer == at(HAVANA, 2024, 11, 3, 0, 0, fold=1)
    assert not inside(answer, quiet)


# --- decide ---------------------------------------------------------------------------------------

DEVICE_IDS = ("device-1", "device-2", "device-3", "device-4")
MUTABLE = sorted(categories.MUTABLE)
NOT_MUTABLE = sorted(set(categories.ALL) - categories.MUTABLE)


@dataclass(frozen=True)
class Situation:
    due: Due
    preferences: Preferences
    devices: list[Device]
    now: datetime
    cap: int

    def decide(self) -> Decision:
        return decide(
            self.due,
            preferences=self.preferences,
            devices=self.devices,
            now=self.now,
            device_cap=self.cap,
        )

    def but(self, **changes: object) -> Situation:
        """The same situation with some fields of the notification changed."""
        return replace(self, due=replace(self.due, **changes))

    def targets(self) -> list[Device]:
        wanted = self.due.device_id
        return [d for d in self.devices if wanted is None or d.device_id == wanted]


rarely = st.sampled_from([False, False, False, True])


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    zone = draw(st.sampled_from(ZONES))
    now = draw(instants_in(zone))
    expires_at = draw(
        st.one_of(
            st.none(),
            st.none(),
            st.just(now),
            st.timedeltas(timedelta(hours=-3), timedelta(hours=3)).map(lambda d: now + d),
        )
    )
    due = Due(
        category=draw(st.sampled_from(sorted(categories.ALL))),
        critical=draw(rarely),
        silent=draw(rarely),
        expires_at=expires_at,
        subject_open=draw(st.sampled_from([None, None, True, True, False])),
        device_id=draw(st.one_of(st.none(), st.sampled_from((*DEVICE_IDS, "someone-elses")))),
    )
    preferences = Preferences(
        quiet=draw(st.one_of(st.none(), quiet_windows(zone))),
        muted=draw(st.frozensets(st.sampled_from(sorted(categories.ALL)), max_size=3)),
    )
    ids = draw(st.lists(st.sampled_from(DEVICE_IDS), unique=True, max_size=len(DEVICE_IDS)))
    devices = [Device(i, draw(st.integers(0, 8)), draw(st.booleans())) for i in ids]
    return Situation(due, preferences, devices, now, draw(st.integers(0, 6)))


def reference(s: Situation) -> Decision:
    """The rules of issue #5, one after another, as a user would state them."""
    due, prefs = s.due, s.preferences
    if due.expires_at is not None and s.now >= due.expires_at:
        return Drop("expired", "expired")
    if due.subject_open is False:
        return Drop("withdrawn", "subject_closed")
    if due.category in prefs.muted and due.category in categories.MUTABLE:
        return Drop("skipped", "muted")
    alerting = not due.critical and not due.silent
    if alerting and prefs.quiet is not None and inside(s.now, prefs.quiet):
        until = quiet_until(s.now, prefs.quiet)
        assert until is not None
        return Defer(until)
    targets = s.targets()
    if not targets:
        return Drop("skipped", "no_device")
    unsettled = [d for d in targets if not d.finished]
    if not unsettled:
        return Deliver(settled=True)
    never_folded = due.critical or due.silent or due.category == categories.PUSH_SUMMARY
    send = tuple(d.device_id for d in unsettled if never_folded or d.sent_last_hour < s.cap)
    fold = tuple(d.device_id for d in unsettled if d.device_id not in send)
    return Deliver(send=send, fold=fold)


def comparable(decision: Decision) -> object:
    """Which devices get or fold it matters, not the order they are listed in."""
    if isinstance(decision, Deliver):
        assert len(set(decision.send)) == len(decision.send)
        assert len(set(decision.fold)) == len(decision.fold)
        return ("deliver", sorted(decision.send), sorted(decision.fold), decision.settled)
    return decision


@settings(max_examples=500, deadline=None, suppress_health_check=HEALTH)
@given(situations())
def test_the_fate_of_a_due_notification_follows_the_rules_of_the_reference_model(
    s: Situation,
) -> None:
    decision = s.decide()
    event(type(decision).__name__ + (f" {decision.reason}" if isinstance(decision, Drop) else ""))
    assert comparable(decision) == comparable(reference(s))


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations(), st.timedeltas(timedelta(0), timedelta(days=2)))
def test_an_expired_notification_is_dropped_as_expired_whatever_else_holds(
    s: Situation, overdue: timedelta
) -> None:
    assert s.but(expires_at=s.now - overdue).decide() == Drop("expired", "expired")


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations())
def test_a_notification_about_a_closed_task_is_withdrawn_unless_it_expired_first(
    s: Situation,
) -> None:
    s = s.but(subject_open=False)
    expired = s.due.expires_at is not None and s.now >= s.due.expires_at
    assert s.decide() == (
        Drop("expired", "expired") if expired else Drop("withdrawn", "subject_closed")
    )


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations(), st.sampled_from(MUTABLE), st.sampled_from(NOT_MUTABLE))
def test_a_muted_category_is_skipped_and_muting_one_that_cannot_be_muted_changes_nothing(
    s: Situation, mutable: str, not_mutable: str
) -> None:
    live = s.but(expires_at=None, subject_open=True)

    muted = replace(
        live.but(category=mutable),
        preferences=Preferences(quiet=s.preferences.quiet, muted=s.preferences.muted | {mutable}),
    )
    assert muted.decide() == Drop("skipped", "muted")

    kept = live.but(category=not_mutable)
    with_mute = replace(
        kept,
        preferences=Preferences(
            quiet=s.preferences.quiet, muted=s.preferences.muted | {not_mutable}
        ),
    )
    without_mute = replace(
        kept,
        preferences=Preferences(
            quiet=s.preferences.quiet, muted=s.preferences.muted - {not_mutable}
        ),
    )
    assert comparable(with_mute.decide()) == comparable(without_mute.decide())
    assert with_mute.decide() != Drop("skipped", "muted")


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations(), st.sampled_from(["critical", "silent", "both"]))
def test_critical_and_silent_notifications_are_never_deferred_nor_folded(
    s: Situation, kind: str
) -> None:
    s = s.but(critical=kind != "silent", silent=kind != "critical")
    decision = s.decide()
    assert not isinstance(decision, Defer)
    if isinstance(decision, Deliver):
        assert decision.fold == ()
        assert sorted(decision.send) == sorted(d.device_id for d in s.targets() if not d.finished)


@settings(max_examples=300, deadline=None, suppress_health_check=HEALTH)
@given(situations(), st.sampled_from([*MUTABLE, categories.PUSH_SUMMARY]))
def test_a_normal_alert_in_quiet_hours_waits_until_they_end_and_then_goes_ahead(
    s: Situation, category: str
) -> None:
    s = s.but(category=category, critical=False, silent=False, expires_at=None, subject_open=True)
    s = replace(s, preferences=replace(s.preferences, muted=frozenset()))
    decision = s.decide()
    quiet = s.preferences.quiet
    if quiet is None or not inside(s.now, quiet):
        assert not isinstance(decision, Defer)
        return

    assert decision == Defer(quiet_until(s.now, quiet))
    assert decision.until > s.now
    # Claimed again when the hold ends, it is not held a second time.
    assert not isinstance(replace(s, now=decision.until).decide(), Defer)


def plain_alerts(s: Situation, category: str) -> Situation:
    """The situation with a live, normal, unmuted alert and no quiet hours."""
    s = s.but(category=category, critical=False, silent=False, expires_at=None, subject_open=True)
    return replace(s, preferences=Preferences())


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations(), st.sampled_from(MUTABLE))
def test_each_device_at_its_hourly_cap_gets_the_alert_folded_and_the_others_get_it_sent(
    s: Situation, category: str
) -> None:
    s = plain_alerts(s, category)
    decision = s.decide()
    unsettled = [d for d in s.targets() if not d.finished]
    if not unsettled:
        return
    assert isinstance(decision, Deliver)
    assert not decision.settled
    assert sorted(decision.send) == sorted(
        d.device_id for d in unsettled if d.sent_last_hour < s.cap
    )
    assert sorted(decision.fold) == sorted(
        d.device_id for d in unsettled if d.sent_last_hour >= s.cap
    )


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations())
def test_a_summary_is_never_folded_even_on_a_device_over_its_cap(s: Situation) -> None:
    s = plain_alerts(s, categories.PUSH_SUMMARY)
    s = replace(s, devices=[replace(d, sent_last_hour=s.cap + 5) for d in s.devices])
    decision = s.decide()
    if isinstance(decision, Deliver):
        assert decision.fold == ()
        assert sorted(decision.send) == sorted(d.device_id for d in s.targets() if not d.finished)


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations(), st.sampled_from((*DEVICE_IDS, "someone-elses")))
def test_a_notification_meant_for_one_device_never_reaches_another(
    s: Situation, device_id: str
) -> None:
    s = s.but(device_id=device_id)
    decision = s.decide()
    if isinstance(decision, Deliver):
        assert set(decision.send) | set(decision.fold) <= {device_id}
        assert device_id in {d.device_id for d in s.devices}
    if device_id not in {d.device_id for d in s.devices}:
        assert not isinstance(decision, Deliver)


@settings(deadline=None, suppress_health_check=HEALTH)
@given(situations(), st.sampled_from(sorted(categories.ALL)))
def test_without_devices_it_is_skipped_and_once_every_device_is_settled_it_is_done(
    s: Situation, category: str
) -> None:
    s = s.but(category=category, expires_at=None, subject_open=None, device_id=None)
    s = replace(s, preferences=Preferences())

    assert replace(s, devices=[]).decide() == Drop("skipped", "no_device")

    settled = [replace(d, finished=True) for d in s.devices]
    if settled:
        assert replace(s, devices=settled).decide() == Deliver(settled=True)


# --- retry_delay ---------------------------------------------------------------------------------


@given(
    first=st.integers(1, 80),
    later=st.integers(0, 80),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=86_400)),
)
def test_the_retry_delay_grows_honours_retry_after_and_stays_within_fifteen_minutes(
    first: int, later: int, retry_after: float | None
) -> None:
    delay = retry_delay(first, retry_after)
    asked = retry_after or 0.0

    assert retry_delay(first + later, retry_after) >= delay
    assert delay >= asked
    assert delay <= max(900.0, asked)
    assert delay > 0


@pytest.mark.parametrize(
    ("attempt", "seconds"), [(1, 5.0), (2, 10.0), (3, 20.0), (8, 640.0), (9, 900.0), (30, 900.0)]
)
def test_without_retry_after_the_wait_doubles_from_five_seconds_up_to_fifteen_minutes(
    attempt: int, seconds: float
) -> None:
    assert retry_delay(attempt, None) == seconds


def test_a_retry_after_longer_than_fifteen_minutes_is_honoured() -> None:
    assert retry_delay(1, 3600.0) == 3600.0
    assert retry_delay(20, 3600.0) == 3600.0
