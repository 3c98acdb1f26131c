"""The demo bank: a head office, two branches, four teams, one user per role, and 500
customers with holdings, products and recommendation rules.

Idempotent and non-destructive: what exists (by id or login) is left as it is, so running it again,
or after an admin changed a demo user, changes nothing.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import msgspec

from mobile_contracts.v1 import customers as customer_wire
from mobile_contracts.v1 import tasks as task_wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.customers import feeds, recommendations
from workbench.customers.personal_data import id_check_digit
from workbench.db import Connection
from workbench.identity import queries
from workbench.identity import queries as identity_queries
from workbench.ids import uuid5_for
from workbench.security.passwords import Passwords
from workbench.security.vault import Vault
from workbench.tasks import queries as task_queries

log = logging.getLogger("workbench.seed")

DEMO_PASSWORD = "workbench-demo"  # noqa: S105 - the demo bank's published password


@dataclass(frozen=True, slots=True)
class DemoUser:
    login: str
    name: str
    role: Role
    unit: str


# (key, display name, parent key)
ORG_UNITS = [
    ("head-office", "总行 Head Office", None),
    ("branch-east", "东城支行 East Branch", "head-office"),
    ("branch-west", "西城支行 West Branch", "head-office"),
    ("team-east-1", "东城一组 East Team 1", "branch-east"),
    ("team-east-2", "东城二组 East Team 2", "branch-east"),
    ("team-west-1", "西城一组 West Team 1", "branch-west"),
    ("team-west-2", "西城二组 West Team 2", "branch-west"),
]

USERS = [
    DemoUser("admin", "系统管理员 Admin", Role.ADMIN, "head-office"),
    DemoUser("marketing", "市场部 Marketing", Role.MARKETING, "head-office"),
    DemoUser("compliance", "合规部 Compliance", Role.COMPLIANCE, "head-office"),
    DemoUser("bh.east", "王东 East Branch Head", Role.BRANCH_HEAD, "branch-east"),
    DemoUser("bh.west", "李西 West Branch Head", Role.BRANCH_HEAD, "branch-west"),
    DemoUser("rm01", "张伟", Role.RM, "team-east-1"),
    DemoUser("rm02", "王芳", Role.RM, "team-east-1"),
    DemoUser("rm03", "李娜", Role.RM, "team-east-2"),
    DemoUser("rm04", "刘洋", Role.RM, "team-east-2"),
    DemoUser("rm05", "陈静", Role.RM, "team-west-1"),
    DemoUser("rm06", "杨磊", Role.RM, "team-west-1"),
    DemoUser("rm07", "赵敏", Role.RM, "team-west-2"),
    DemoUser("rm08", "黄强", Role.RM, "team-west-2"),
]


async def seed_demo_bank(conn: Connection, *, passwords: Passwords) -> dict[str, int]:
    """Insert the demo org tree and users where missing; return how many of each were added."""
    await queries.lock_org_setup(conn)
    added = {"org_units": 0, "users": 0}
    ids: dict[str, uuid.UUID] = {}
    for key, name, parent_key in ORG_UNITS:
        unit_id = uuid5_for(f"org:{key}")
        existing = await queries.org_unit(conn, unit_id)
        if existing is None and parent_key is None:
            # A bootstrap admin may have created the head office already: hang the demo under it.
            existing = await queries.root_org_unit(conn)
        if existing is None:
            parent = await queries.org_unit(conn, ids[parent_key]) if parent_key else None
            existing = await queries.insert_org_unit(
                conn, unit_id=unit_id, name=name, parent=parent
            )
            added["org_units"] += 1
        ids[key] = existing["id"]
    password_hash = await passwords.hash(DEMO_PASSWORD)
    for user in USERS:
        row = await queries.insert_user(
            conn,
            user_id=uuid5_for(f"user:{user.login}"),
            login=user.login,
            name=user.name,
            role=user.role.value,
            org_unit_id=ids[user.unit],
            password_hash=password_hash,
        )
        added["users"] += row is not None
    if any(added.values()):  # a restart on the same data adds nothing: its caller says so
        log.info("demo bank seeded", extra=added)
    return added


# ---- demo customers --------------------------------------------------------------------------

DEMO_PRODUCTS = [
    # code, name, category, risk (R1-R5), max holding per customer
    ("CASH01", "天天盈现金管理", "cash", 1, None),
    ("DEP3M", "三个月定期存款", "deposit", 1, None),
    ("DEP1Y", "一年期大额存单", "deposit", 1, "5000000"),
    ("WM90", "稳享90天理财", "wealth", 2, None),
    ("WM180", "安盈180天理财", "wealth", 2, None),
    ("BOND01", "纯债增强基金", "fund", 2, None),
    ("MIX01", "平衡配置混合基金", "fund", 3, None),
    ("GOLD01", "黄金积存", "precious_metal", 3, "1000000"),
    ("IDX300", "沪深300指数基金", "fund", 4, None),
    ("TECH01", "科技成长股票基金", "fund", 4, None),
    ("PENS01", "个人养老金理财", "pension", 2, "12000"),
    ("INS01", "终身寿险", "insurance", 2, None),
    ("QDII01", "全球精选QDII", "fund", 4, None),
    ("STRUCT1", "挂钩黄金结构性存款", "deposit", 2, None),
    ("PE01", "私募股权母基金", "private", 5, None),
    ("FX01", "外汇双币理财", "wealth", 3, None),
]
DEMO_RULES = [
    ("养老客群配养老金", {"tag": "retiree"}, {"category": "pension"}, 40),
    ("稳健客群优先理财", {"segment": "mass_affluent"}, {"category": "wealth"}, 20),
    ("高净值配置私募", {"segment": "private_banking"}, {"category": "private"}, 30),
    ("持有基金的客户看指数基金", {"holds_category": "fund"}, {"product_code": "IDX300"}, 15),
    ("大额客户配大额存单", {"min_aum": "1000000"}, {"product_code": "DEP1Y"}, 25),
    ("年轻客群看科技基金", {"tag": "young_professional"}, {"product_code": "TECH01"}, 10),
    ("人人可用现金管理", {}, {"product_code": "CASH01"}, 5),
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯鹏辉晨"
_TAGS = ["vip", "retiree", "young_professional", "business_owner", "new_customer", "payroll"]
_SEGMENTS = ["mass", "mass_affluent", "affluent", "private_banking"]
_REGIONS = ["110101", "110105", "310104", "440305", "330106", "510107", "320102", "420106"]
DEMO_CUSTOMERS = 500


def demo_customer_rows(count: int = DEMO_CUSTOMERS) -> list[customer_wire.CustomerFeedRow]:
    """Deterministic, valid-looking demo customers spread over rm01..rm08."""
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    rms = [u.login for u in USERS if u.role is Role.RM]
    rows = []
    for n in range(count):
        given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
        birth = f"{rng.randint(1950, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        first17 = f"{rng.choice(_REGIONS)}{birth}{n % 1000:03d}"
        segment = rng.choices(_SEGMENTS, weights=(50, 30, 15, 5))[0]
        aum = {"mass": 50_000, "mass_affluent": 500_000, "affluent": 3_000_000}.get(
            segment, 12_000_000
        )
        rows.append(
            customer_wire.CustomerFeedRow(
                external_id=f"DEMO-{n + 1:05d}",
                name=rng.choice(_SURNAMES) + given,
                id_number=first17 + id_check_digit(first17),
                phone=f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                owner_login=rms[n % len(rms)],
                risk_level=f"C{rng.choices((1, 2, 3, 4, 5), weights=(10, 30, 35, 20, 5))[0]}",
                segment=segment,
                tags=rng.sample(_TAGS, rng.randint(0, 2)),
                aum=Decimal(rng.randint(aum // 5, aum * 2)).quantize(Decimal("1.00")),
            )
        )
    return rows


def demo_holding_rows(
    customers: list[customer_wire.CustomerFeedRow],
) -> list[customer_wire.HoldingFeedRow]:
    rng = random.Random(7)  # noqa: S311 - demo data, not security
    rows = []
    for customer in customers:
        for code, *_ in rng.sample(DEMO_PRODUCTS, rng.randint(0, 4)):
            rows.append(
                customer_wire.HoldingFeedRow(
                    customer_external_id=customer.external_id,
                    product_code=code,
                    amount=Decimal(rng.randint(1_000, 500_000)),
                    as_of=date(2026, 11, 1),
                )
            )
    return rows


async def seed_demo_customers(conn: Connection, *, vault: Vault) -> dict[str, int]:
    """Products, 500 customers with holdings, and the recommendation rules (where missing)."""
    products = [
        customer_wire.ProductFeedRow(
            code=code, name=name, category=category, risk_level=f"R{risk}",
            max_holding=Decimal(cap) if cap else None,
        )
        for code, name, category, risk, cap in DEMO_PRODUCTS
    ]  # fmt: skip
    product_result = await feeds.upsert_products(conn, rows=products)
    customers = demo_customer_rows()
    customer_result = await feeds.upsert_customers(conn, vault=vault, rows=customers)
    holding_result = await feeds.upsert_holdings(conn, rows=demo_holding_rows(customers))
    rules_added = 0
    if not (await recommendations.rules(conn)).rules:
        table = customer_wire.RecommendationRules(
            rules=[
                customer_wire.RecommendationRule(
                    name=name,
                    when=msgspec.convert(when, customer_wire.RuleCondition),
                    recommend=msgspec.convert(target, customer_wire.RuleTarget),
                    weight=weight,
                )
                for name, when, target, weight in DEMO_RULES
            ]
        )
        rules_added = len((await recommendations.replace_rules(conn, table=table)).rules)
    added = {
        "products": product_result.inserted,
        "customers": customer_result.inserted,
        "holdings": holding_result.inserted,
        "recommendation_rules": rules_added,
    }
    log.info("demo customers seeded", extra=added)
    return added


# ---- demo templates and tasks ----------------------------------------------------------------


def _demo_templates() -> list[task_wire.TemplateCreate]:
    field = task_wire.FormField
    text, choice = task_wire.FieldType.TEXT, task_wire.FieldType.CHOICE
    visit = task_wire.Form(
        fields=[
            field(key="purpose", label="拜访目的", type=choice, required=True,
                  options=["产品推荐", "资产检视", "售后服务", "关系维护"]),
            field(key="summary", label="沟通纪要", type=text, required=True, max_length=1000),
            field(key="next_step", label="下一步计划", type=text),
            field(key="photo", label="现场照片", type=task_wire.FieldType.PHOTO, max=3),
            field(key="place", label="拜访地点", type=task_wire.FieldType.LOCATION),
        ]
    )  # fmt: skip
    call = task_wire.Form(
        fields=[
            field(key="reached", label="是否接通", type=choice, required=True,
                  options=["已接通", "未接通"]),
            field(key="satisfaction", label="满意度", type=task_wire.FieldType.NUMBER,
                  min=1, max=5),
            field(key="notes", label="备注", type=text),
        ]
    )  # fmt: skip
    weekly = task_wire.Form(
        fields=[
            field(key="visits", label="本周拜访数", type=task_wire.FieldType.NUMBER,
                  required=True, min=0),
            field(key="highlights", label="本周亮点", type=text),
        ]
    )  # fmt: skip
    return [
        task_wire.TemplateCreate(
            name="客户拜访", form=visit, requires_customer_confirmation=True, sla_hours=72,
            reminders=[task_wire.Reminder(minutes_before_due=1440),
                       task_wire.Reminder(minutes_before_due=60)],
        ),
        task_wire.TemplateCreate(
            name="电话回访", form=call, sla_hours=48,
            reminders=[task_wire.Reminder(minutes_before_due=120)],
        ),
        task_wire.TemplateCreate(
            name="每周经营小结", form=weekly, recurrence="FREQ=WEEKLY;BYDAY=MO",
            reminders=[task_wire.Reminder(minutes_before_due=1440)],
        ),
    ]  # fmt: skip


async def seed_demo_tasks(conn: Connection, *, tz: str) -> dict[str, int]:
    """Three templates, a visit campaign to customers, a call round and a weekly report series,
    and a large-movement event rule — only on a bank that has no templates yet; then twelve
    weeks of task history for the dashboard (`workbench.dashboard.demo`), unless there."""
    from workbench.dashboard.demo import seed_demo_task_history

    added = await _seed_demo_templates_and_tasks(conn, tz=tz)
    return added | await seed_demo_task_history(conn)


async def _seed_demo_templates_and_tasks(conn: Connection, *, tz: str) -> dict[str, int]:
    from workbench.tasks import dispatching, rules, templates

    if await task_queries.any_template(conn):
        return {"task_templates": 0, "tasks": 0}
    admin = await identity_queries.user_for_login(conn, "admin")
    if admin is None:
        return {"task_templates": 0, "tasks": 0}
    caller = Caller(
        user_id=admin["id"], role=Role.ADMIN, org_unit_id=admin["org_unit_id"],
        session_id=uuid.UUID(int=0), device_id="seed",
    )  # fmt: skip
    made = [await templates.create(conn, caller=caller, request=t) for t in _demo_templates()]
    visit, call, weekly = made
    customers = await task_queries.sample_customers(conn, per_owner=8)
    head_office = admin["org_unit_id"]
    created = 0
    for request in (
        task_wire.DispatchCreate(template_id=visit.id, title="十一月重点客户拜访",
                                 customer_ids=customers, per_rm_cap=5),
        task_wire.DispatchCreate(template_id=call.id, title="季度满意度回访",
                                 customer_ids=customers[::2], per_rm_cap=3),
        task_wire.DispatchCreate(template_id=weekly.id, title="每周经营小结",
                                 org_unit_id=head_office),
    ):  # fmt: skip
        result = await dispatching.dispatch(
            conn, caller=caller, request=request, idempotency_key=f"demo:{request.title}", tz=tz
        )
        created += result.created
    await rules.create_rule(
        conn,
        caller=caller,
        request=task_wire.TaskRuleCreate(
            name="大额资金变动回访", event_kind="balance_movement", field="amount",
            op=task_wire.RuleOp.GTE, value=500000, template_id=call.id, within_days=30,
            due_in_hours=48,
        ),
    )  # fmt: skip
    return {"task_templates": len(made), "tasks": created}
