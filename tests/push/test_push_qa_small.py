"""Three small push defects a tester found.

Covers: a Huawei (HMS) offline cache group never lets a lead, a task reminder or a work order be
replaced by a push about something else, while two radar pushes of one share still replace each
other; the settings screen lists per role only the categories that can reach it, and a mute
stored for a category no longer listed breaks nothing; `workbench push test` for a user with no
device leaves no test notification in their list.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from push.providers import Push
from push.providers.hms import message
from tests.helpers import bearer, login
from tests.push.test_push_cli import push_test
from tests.push_data import register
from workbench.notifications import categories

PREFERENCES = "/api/v1/me/notification-preferences"
SHARES = [uuid.uuid5(uuid.NAMESPACE_URL, f"share:{n}") for n in range(300)]


def hms_group(category: str, collapse_key: str) -> Any:
    """The offline cache group (`android.collapse_key`) of the message HMS would be sent."""
    push = Push(
        notification_id=uuid.uuid4(), token="hms-token", category=category, title="标题",
        body="内容", data={}, critical=False, silent=False, collapse_key=collapse_key,
        expires_at=None,
    )  # fmt: skip
    return message(push)["android"]["collapse_key"]


# ---- 1. HMS offline cache groups --------------------------------------------------------------


def test_a_lead_never_shares_an_hms_cache_group_with_the_radar_of_another_share():
    lead = hms_group(categories.CONTACT_REQUESTED, f"share-contact:{SHARES[0]}")
    radar = {hms_group(categories.BROCHURE_OPENED, f"share:{s}") for s in SHARES[1:]}
    assert lead == -1  # kept: never replaced by another message
    assert lead not in radar
    assert all(1 <= group <= 100 for group in radar)  # never 0: the app's one message


@pytest.mark.parametrize(
    ("category", "key"),
    [
        (categories.TASK_REMINDER, "task:{}"),
        (categories.TASK_ESCALATION, "escalation:{}"),
        (categories.WORK_ORDER, "work_order:{}"),
    ],
)
def test_reminders_and_work_orders_are_never_replaced_on_an_offline_huawei_phone(category, key):
    groups = {hms_group(category, key.format(s)) for s in SHARES[:20]}
    radar = {hms_group(categories.BROCHURE_OPENED, f"share:{s}") for s in SHARES}
    assert groups == {-1}
    assert not groups & radar


def test_two_radar_pushes_of_the_same_share_share_an_hms_cache_group():
    key = f"share:{SHARES[7]}"
    first, second = (hms_group(categories.BROCHURE_OPENED, key) for _ in range(2))
    assert first == second
    assert 1 <= first <= 100


def test_a_newer_sync_poke_or_summary_replaces_an_older_one_but_not_each_other():
    pokes = {hms_group(categories.SYNC_POKE, "sync.poke") for _ in range(2)}
    summaries = {hms_group(categories.PUSH_SUMMARY, "push.summary") for _ in range(2)}
    radar = {hms_group(categories.BROCHURE_OPENED, f"share:{s}") for s in SHARES}
    assert len(pokes) == len(summaries) == 1
    assert not pokes & summaries
    assert not (pokes | summaries) & radar


# ---- 2. the settings screen per role ----------------------------------------------------------

RM_ONLY = {"task.confirmed", "customer.verified", "brochure.opened"}
HEADS_ONLY = {"task.escalation", "report.ready", "work_order.escalated"}
# A customer's request to be contacted: their RM's, or, with no active RM, the branch head's.
RMS_AND_HEADS = {"brochure.contact_requested", "work_order.assigned"}


async def listed(client: Any, who: str) -> set[str]:
    headers = bearer(await login(client, who, device_no=1))
    response = await client.get(PREFERENCES, headers=headers)
    assert response.status_code == 200, response.text
    return {c["name"] for c in response.json()["categories"]}


@pytest.mark.usefixtures("demo_bank")
async def test_an_rm_is_offered_their_categories_and_no_branch_heads_ones(client):
    names = await listed(client, "rm01")
    assert names >= RM_ONLY | RMS_AND_HEADS | {"survey.invitation", "push.test"}
    assert not names & HEADS_ONLY


@pytest.mark.usefixtures("demo_bank")
async def test_a_branch_head_is_not_offered_what_only_reaches_rms(client):
    names = await listed(client, "bh.east")
    assert not names & RM_ONLY
    assert names >= HEADS_ONLY | RMS_AND_HEADS | {"survey.invitation", "push.test"}


@pytest.mark.parametrize("who", ["marketing", "compliance", "admin"])
@pytest.mark.usefixtures("demo_bank")
async def test_staff_outside_the_branches_are_offered_only_what_can_reach_them(client, who):
    names = await listed(client, who)
    assert not names & (RM_ONLY | HEADS_ONLY | RMS_AND_HEADS)
    assert names >= {"survey.invitation", "push.test"}


@pytest.mark.usefixtures("demo_bank")
async def test_a_stored_mute_of_a_category_no_longer_listed_breaks_nothing(client):
    headers = bearer(await login(client, "marketing", device_no=1))
    muted = await client.put(
        PREFERENCES, json={"muted_categories": ["task.confirmed"]}, headers=headers
    )
    assert muted.status_code == 200, muted.text

    changed = await client.put(
        PREFERENCES, json={"quiet_hours": {"start": "22:00", "end": "08:00"}}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    read = await client.get(PREFERENCES, headers=headers)
    assert read.status_code == 200, read.text
    prefs = read.json()
    assert prefs["muted_categories"] == ["task.confirmed"]  # kept, still honoured
    assert "task.confirmed" not in {c["name"] for c in prefs["categories"]}
    echoed = await client.put(  # an app sending back what it read
        PREFERENCES, json={"muted_categories": prefs["muted_categories"]}, headers=headers
    )
    assert echoed.status_code == 200, echoed.text


# ---- 3. `workbench push test` for a user with no device --------------------------------------


@pytest.mark.usefixtures("demo_bank")
async def test_push_test_for_a_user_without_devices_leaves_nothing_in_their_list(
    client, settings, fake
):
    await register(client, "rm01", platform="ios", provider="apns", token="d" * 64)

    code, out, err = await push_test(settings, fake, "rm02")

    assert code == 1, out + err
    assert "rm02 has no device registered for push" in out
    headers = bearer(await login(client, "rm02", device_no=2))
    unread = await client.get("/api/v1/notifications/unread-count", headers=headers)
    assert unread.json() == {"unread": 0}
    listed = await client.get("/api/v1/notifications", headers=headers)
    assert listed.status_code == 200, listed.text
    assert "测试通知" not in listed.text
