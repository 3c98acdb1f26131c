"""The demo bank's surveys, so `workbench dev` shows results at once: a customer NPS survey sent
after visits and a staff pulse survey, each with a month of invitations and answers; the pulse
is closed (archived) at the end of that month, as a staff survey's answers are shown only once
it is closed (`results._staff_groups`).

The NPS survey (sent after tasks of the demo's visit template, when it exists) asks for a score,
a reason only for scores of 6 or less (skip logic), a single choice on the speed of service, a
1-5 rating of the RM's service (so its results and the dashboard show CSAT) and a multi choice
whose "理财" option tags the customer. Every demo RM's customers are invited a few
times a week over four weeks; about half answer within two days. The West branch is a little
less liked than the East, so branches differ. The staff pulse (a 1-5 rating and a text) went to
every RM and branch head each Monday; most answered, and it is closed now.

Answers are checked as the public page checks them (`answers.check`), stored with their text
answers encrypted, counted by `tallies.on_response` and, for customers, written to their
timeline as `survey.answered` at the time they were given (so the 360° view shows them and the
intimacy score counts them), as a submission does; staff answers are stored unlinked, as a
submission stores them (no user or invitation id, their day only, a random id). Deterministic
(a seeded `random.Random`, times relative to `now`). Seeds nothing if the NPS survey exists.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import Question
from workbench.db import Connection
from workbench.ids import uuid5_for
from workbench.security.vault import Vault
from workbench.seed import USERS
from workbench.settings import Settings
from workbench.surveys import answers, tallies
from workbench.surveys.results import texts_aad
from workbench.surveys.rollups import queries
from workbench.timeline import service as timeline

SEED = 15
WEEKS = 4
NPS_SURVEY = uuid5_for("survey:demo-visit-nps")
NPS_TITLE = "客户拜访满意度（NPS）"
PULSE_SURVEY = uuid5_for("survey:demo-staff-pulse")
VISIT_TEMPLATE = "客户拜访"
INVITES_PER_WEEK = (3, 6)  # per RM
ANSWERED = 0.5
PULSE_ANSWERED = 0.8
LINK_DAYS = 14
EAST_SCORES = (1, 1, 1, 2, 2, 3, 4, 8, 14, 24, 26)  # weights of 0..10: NPS about +45
WEST_SCORES = (2, 1, 2, 3, 4, 5, 6, 10, 14, 20, 17)  # NPS about +15

NPS_QUESTIONS: list[dict[str, Any]] = [
    {"key": "score", "type": "nps", "required": True,
     "text": "您有多大可能向亲友推荐我行的客户经理服务？（0 分最不可能，10 分最可能）"},
    {"key": "reason", "type": "text", "text": "很抱歉没能让您满意，请告诉我们原因",
     "show_if": {"key": "score", "in": [0, 1, 2, 3, 4, 5, 6]}},
    {"key": "speed", "type": "single", "required": True, "text": "本次业务办理的效率如何？",
     "options": [{"value": "fast", "label": "很快"}, {"value": "ok", "label": "还可以"},
                 {"value": "slow", "label": "较慢"}]},
    {"key": "satisfaction", "type": "rating", "required": True,
     "text": "您对本次客户经理的服务满意吗？（1 分很不满意，5 分很满意）"},
    {"key": "interest", "type": "multi", "text": "近期您还关心哪些金融服务？",
     "options": [{"value": "wealth", "label": "理财", "tag": "理财意向"},
                 {"value": "insurance", "label": "保险"},
                 {"value": "loan", "label": "贷款"},
                 {"value": "pension", "label": "个人养老金"}]},
    {"key": "suggestion", "type": "text", "text": "您对我们还有什么建议？"},
]  # fmt: skip
PULSE_QUESTIONS: list[dict[str, Any]] = [
    {"key": "mood", "type": "rating", "required": True,
     "text": "这一周，您对工作状态的整体感受如何？（1 分很差，5 分很好）"},
    {"key": "voice", "type": "text", "text": "有什么想对团队或管理层说的？（匿名）"},
]  # fmt: skip

_REASONS = (
    "等待时间太长，排队快一个小时",
    "客户经理讲解不够清楚，理财产品的风险没说明白",
    "网点排队时间太长，叫号系统经常出问题",
    "手机银行转账老是失败，打客服电话也没人接",
    "推荐的理财产品收益不如预期",
    "办理业务要填的材料太多，流程太复杂",
    "客户经理换了好几次，每次都要重新介绍情况",
    "柜台只开了一个窗口，等待时间太长",
    "电话回访太频繁，有点打扰",
    "停车不方便，网点附近没有车位",
)
_SUGGESTIONS = (
    "希望增加周末营业的网点",
    "客户经理服务态度很好，非常耐心",
    "手机银行的界面可以再简单一点，老年人不太会用",
    "理财产品的介绍材料很清楚，服务态度很好",
    "希望多举办一些投资理财讲座",
    "排队时间有点长，建议增加自助设备",
    "客户经理很专业，讲解耐心细致",
    "希望理财产品到期能提前提醒",
    "网点环境很好，服务热情",
    "建议推出更多适合退休人员的产品",
)
_VOICES = (
    "最近任务太多，拜访指标压力有点大",
    "希望多一些产品培训，尤其是养老金产品",
    "团队氛围很好，组长很支持我们",
    "系统经常卡顿，录入拜访记录太慢",
    "希望减少重复填报的表格",
    "客户投诉处理流程可以再清楚一些",
    "感谢领导的支持，这周签了两个大单",
    "培训时间安排在周末，有点影响休息",
)


def demo_nps_survey_id() -> uuid.UUID:
    """The demo customer NPS survey's id (for the demo's alert rules and work orders)."""
    return NPS_SURVEY


@dataclass(frozen=True, slots=True)
class _Invite:
    id: uuid.UUID
    survey_id: uuid.UUID
    customer_id: uuid.UUID | None
    user_id: uuid.UUID | None
    rm_id: uuid.UUID
    org_unit_id: uuid.UUID
    sent_at: datetime

    def row(self) -> tuple[Any, ...]:
        """In queries.INVITATION_COLUMNS order."""
        return (self.id, self.survey_id, 1, self.customer_id, self.user_id,
                self.rm_id if self.customer_id else None, self.org_unit_id, self.rm_id,
                self.sent_at, self.sent_at + timedelta(days=LINK_DAYS))  # fmt: skip


async def seed_demo_surveys_from_settings(conn: Connection, settings: Settings) -> dict[str, int]:
    """The demo surveys, with the settings' keys."""
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    return await seed_demo_surveys(conn, vault=vault, now=datetime.now(UTC))


async def seed_demo_surveys(conn: Connection, *, vault: Vault, now: datetime) -> dict[str, int]:
    """Two surveys with a month of invitations and answers ending at `now` (the NPS survey
    published, the staff pulse closed: archived at `now`), unless the demo NPS survey exists.
    Call inside a transaction, after the demo customers and tasks."""
    added = {"surveys": 0, "survey_invitations": 0, "survey_responses": 0}
    if await queries.survey_exists(conn, NPS_SURVEY):
        return added
    people = {u["login"]: u for u in await queries.users_by_login(conn, [u.login for u in USERS])}
    marketing = people.get("marketing")
    if marketing is None:
        return added
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    staff_ids = random.Random(SEED + 1)  # noqa: S311 - the staff answers' ids, apart
    start = now - timedelta(weeks=WEEKS)
    visit = await queries.template_named(conn, VISIT_TEMPLATE)
    await queries.insert_published_survey(
        conn, survey_id=NPS_SURVEY, title=NPS_TITLE, audience="customer",
        questions=NPS_QUESTIONS, after_template_id=visit,
        owner_unit_id=marketing["org_unit_id"], author_id=marketing["id"],
        published_at=start - timedelta(days=3),
    )  # fmt: skip
    await queries.insert_published_survey(
        conn, survey_id=PULSE_SURVEY, title="员工每周脉搏", audience="staff",
        questions=PULSE_QUESTIONS, after_template_id=None,
        owner_unit_id=marketing["org_unit_id"], author_id=marketing["id"],
        published_at=start - timedelta(days=3), archived_at=now,
    )  # fmt: skip
    rms = [people[u.login] for u in USERS if u.role is Role.RM and u.login in people]
    staff = [people[u.login] for u in USERS
             if u.role in (Role.RM, Role.BRANCH_HEAD) and u.login in people]  # fmt: skip
    customers: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in await queries.owned_demo_customers(conn, [rm["id"] for rm in rms]):
        customers.setdefault(row["owner_id"], []).append(row["id"])
    invites = _customer_invites(rng, rms, customers, start, now)
    invites += _staff_invites(rng, staff, start, now)
    await queries.insert_invitations(conn, [i.row() for i in invites])
    nps = msgspec.convert(NPS_QUESTIONS, list[Question])
    pulse = msgspec.convert(PULSE_QUESTIONS, list[Question])
    west = {people[u.login]["org_unit_id"] for u in USERS
            if u.unit.startswith("team-west") and u.login in people}  # fmt: skip
    responses: list[tuple[Any, ...]] = []
    texts_of: dict[uuid.UUID, tuple[uuid.UUID, dict[str, str]]] = {}
    answered: list[timeline.Event] = []  # the customers' timeline entries, as a submission's
    for invite in invites:
        staff_survey = invite.survey_id == PULSE_SURVEY
        if rng.random() >= (PULSE_ANSWERED if staff_survey else ANSWERED):
            continue
        submitted = invite.sent_at + timedelta(hours=rng.uniform(0.3, 48))
        if submitted >= now:
            continue
        given = _pulse(rng) if staff_survey else _nps(rng, invite.org_unit_id in west)
        checked = answers.check(pulse if staff_survey else nps, given)
        response_id = _uuid7_at(submitted, rng)
        if staff_survey:  # random, as a submission's is (a uuid7 tells the time it came)
            response_id = uuid.UUID(int=staff_ids.getrandbits(128), version=4)
        blob = (
            vault.cipher.encrypt(msgspec.json.encode(checked.texts).decode(),
                                 aad=texts_aad(response_id))
            if checked.texts else None
        )  # fmt: skip
        texts_of[response_id] = (invite.id, checked.texts)
        if invite.customer_id is not None:
            answered.append(timeline.Event(
                customer_id=invite.customer_id, kind="survey.answered", occurred_at=submitted,
                source_id=str(response_id),
                data={"survey_id": str(invite.survey_id), "version": 1, "title": NPS_TITLE,
                      "response_id": str(response_id)},
            ))  # fmt: skip
        responses.append((
            response_id, invite.id, invite.survey_id, 1, invite.customer_id, None,
            invite.rm_id if invite.customer_id else None, invite.org_unit_id,
            msgspec.json.encode(checked.answers).decode(), blob, submitted,
        ))  # fmt: skip
    await queries.insert_responses(conn, responses)
    await timeline.record_events(conn, source="survey", events=answered)
    for response_id, (invitation_id, texts) in texts_of.items():
        await tallies.on_response(
            conn, response_id=response_id, texts=texts, invitation_id=invitation_id
        )
    return {"surveys": 2, "survey_invitations": len(invites), "survey_responses": len(responses)}


def _customer_invites(
    rng: random.Random,
    rms: list[Any],
    customers: dict[uuid.UUID, list[uuid.UUID]],
    start: datetime,
    now: datetime,
) -> list[_Invite]:
    """Each RM's customers invited after visits: 3-6 a week over WEEKS weeks."""
    made = []
    week = timedelta(weeks=1).total_seconds()
    for rm in rms:
        theirs = customers.get(rm["id"], [])
        if not theirs:
            continue
        for n in range(WEEKS):
            for _ in range(rng.randint(*INVITES_PER_WEEK)):
                at = start + timedelta(seconds=rng.uniform(n * week, (n + 1) * week))
                at = min(at, now - timedelta(minutes=30))
                made.append(_Invite(_uuid7_at(at, rng), NPS_SURVEY, rng.choice(theirs), None,
                                    rm["id"], rm["org_unit_id"], at))  # fmt: skip
    return made


def _staff_invites(
    rng: random.Random, staff: list[Any], start: datetime, now: datetime
) -> list[_Invite]:
    """The pulse survey to every RM and branch head each week (Monday morning, bank time)."""
    made = []
    for n in range(WEEKS):
        at = start + timedelta(weeks=n, hours=1)
        if at >= now:
            break
        for person in staff:
            made.append(_Invite(_uuid7_at(at, rng), PULSE_SURVEY, None, person["id"],
                                person["id"], person["org_unit_id"], at))  # fmt: skip
    return made


def _nps(rng: random.Random, west: bool) -> dict[str, Any]:
    """A customer's answers: the West scores a little lower; a reason for low scores."""
    weights = (
        (1, 1, 1, 2, 2, 3, 4, 8, 14, 24, 26) if not west else (2, 1, 2, 3, 4, 5, 6, 10, 14, 20, 17)
    )
    score = rng.choices(range(11), weights=weights)[0]
    given: dict[str, Any] = {"score": score}
    if score <= 6 and rng.random() < 0.85:
        given["reason"] = rng.choice(_REASONS)
    speed = ("fast", "ok", "slow")
    given["speed"] = rng.choices(speed, weights=(6, 3, 1) if score >= 7 else (1, 3, 5))[0]
    # Follows the score, drawing nothing: the other answers stay as they were.
    given["satisfaction"] = 5 if score >= 9 else 4 if score >= 7 else 3 if score >= 5 else 2
    if rng.random() < 0.7:
        chosen = [v for v in ("wealth", "insurance", "loan", "pension")
                  if rng.random() < (0.45 if v == "wealth" else 0.2)]  # fmt: skip
        if chosen:
            given["interest"] = chosen
    if rng.random() < 0.3:
        given["suggestion"] = rng.choice(_SUGGESTIONS)
    return given


def _pulse(rng: random.Random) -> dict[str, Any]:
    given: dict[str, Any] = {"mood": rng.choices(range(1, 6), weights=(1, 2, 5, 9, 6))[0]}
    if rng.random() < 0.4:
        given["voice"] = rng.choice(_VOICES)
    return given


def _uuid7_at(moment: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 of `moment` with seeded random bits (the demo's history sorts by time)."""
    millis = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    value = millis << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return uuid.UUID(int=value)
