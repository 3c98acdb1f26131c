"""Recommendations: the admin's rule table, ranking, and suitability that no rule can override."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import hypothesis
import msgspec
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from mobile_contracts.v1 import customers as wire
from mobile_contracts.v1.identity import Role
from tests.conftest import empty_with_referrers
from tests.helpers import bearer, login
from workbench.access import Caller
from workbench.customers import feeds, recommendations
from workbench.customers.personal_data import id_check_digit
from workbench.ids import uuid5_for
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

RULES = "/api/v1/admin/recommendation-rules"


def _id_number(n: int) -> str:
    first17 = f"11010119800101{n % 1000:03d}"
    return first17 + id_check_digit(first17)


def _customer(external_id: str, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "name": "王小明",
        "id_number": _id_number(n),
        "phone": f"138{n:08d}",
        "owner_login": "rm01",
        "risk_level": "C3",
        **fields,
    }


def _product(
    code: str, category: str, risk: int, *, max_holding: str | None = None, active: bool = True
) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"产品 {code}",
        "category": category,
        "risk_level": f"R{risk}",
        "max_holding": max_holding,
        "active": active,
    }


def _rule(name: str, weight: int, when: dict[str, Any], **recommend: str) -> dict[str, Any]:
    return {"name": name, "when": when, "recommend": recommend, "weight": weight}


async def _feed(client: Any, admin: dict[str, Any], kind: str, rows: list[dict[str, Any]]) -> None:
    response = await client.post(
        f"/api/v1/integration/{kind}:bulk-upsert", json={kind: rows}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [], response.text


@pytest.fixture
async def admin(client):
    return await login(client, "admin", device_no=90)


@pytest.fixture
async def rm01(client):
    return await login(client, "rm01", device_no=1)


async def _rule_rows(db) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "select name, weight, product_code, product_category from recommendation_rules"
        " order by name"
    )
    return [tuple(r) for r in rows]


# ---- the rule table --------------------------------------------------------------------------


async def test_admin_reads_and_replaces_the_rule_table(client, db, admin):
    empty = await client.get(RULES, headers=bearer(admin))
    assert empty.status_code == 200
    assert empty.json() == {"rules": []}

    first = [
        _rule("养老客群配养老金", 40, {"tag": "retiree"}, category="pension"),
        _rule("大额客户配存单", 25, {"min_aum": "1000000"}, product_code="DEP1Y"),
    ]
    put = await client.put(RULES, json={"rules": first}, headers=bearer(admin))
    assert put.status_code == 200, put.text
    table = put.json()["rules"]
    assert [(r["name"], r["weight"]) for r in table] == [
        ("养老客群配养老金", 40),
        ("大额客户配存单", 25),
    ]
    assert all(uuid.UUID(r["id"]) for r in table)
    assert table[0]["when"] == {"tag": "retiree"}
    assert table[0]["recommend"] == {"category": "pension"}
    assert Decimal(table[1]["when"]["min_aum"]) == Decimal(1_000_000)
    assert table[1]["recommend"] == {"product_code": "DEP1Y"}
    assert (await client.get(RULES, headers=bearer(admin))).json() == put.json()

    # PUT replaces the whole table: an id kept keeps its rule, everything else is gone.
    kept = {**first[0], "id": table[0]["id"], "weight": 10}
    second = [kept, _rule("人人现金", 5, {}, product_code="CASH01")]
    replaced = await client.put(RULES, json={"rules": second}, headers=bearer(admin))
    assert replaced.status_code == 200, replaced.text
    rules = replaced.json()["rules"]
    assert [(r["name"], r["weight"]) for r in rules] == [("养老客群配养老金", 10), ("人人现金", 5)]
    assert rules[0]["id"] == table[0]["id"]
    assert await _rule_rows(db) == [
        ("人人现金", 5, "CASH01", None),
        ("养老客群配养老金", 10, None, "pension"),
    ]
    cleared = await client.put(RULES, json={"rules": []}, headers=bearer(admin))
    assert cleared.json() == {"rules": []}
    assert await db.fetchval("select count(*) from recommendation_rules") == 0


@pytest.mark.parametrize("who", ["rm01", "bh.east", "marketing", "compliance"])
async def test_only_admins_touch_the_rule_table(client, db, admin, who):
    rules = [_rule("人人现金", 5, {}, product_code="CASH01")]
    assert (
        await client.put(RULES, json={"rules": rules}, headers=bearer(admin))
    ).status_code == 200
    other = await login(client, who, device_no=7)
    assert (await client.get(RULES, headers=bearer(other))).status_code == 403
    put = await client.put(RULES, json={"rules": []}, headers=bearer(other))
    assert put.status_code == 403
    assert put.json()["code"] == "auth.forbidden"
    assert await _rule_rows(db) == [("人人现金", 5, "CASH01", None)]
    assert (await client.get(RULES)).status_code == 401


async def test_bad_rule_tables_are_refused_and_change_nothing(client, db, admin):
    good = [_rule("人人现金", 5, {}, product_code="CASH01")]
    assert (await client.put(RULES, json={"rules": good}, headers=bearer(admin))).status_code == 200
    before = await _rule_rows(db)

    no_target = [*good, _rule("无目标", 5, {"tag": "vip"})]
    response = await client.put(RULES, json={"rules": no_target}, headers=bearer(admin))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "recommendation.rule_without_target"
    empty_target = [{**good[0], "recommend": {"product_code": None, "category": None}}]
    response = await client.put(RULES, json={"rules": empty_target}, headers=bearer(admin))
    assert response.status_code == 400
    assert response.json()["code"] == "recommendation.rule_without_target"

    same_id = str(uuid.uuid4())
    duplicated = [
        {**good[0], "id": same_id},
        {**_rule("另一条", 3, {}, category="fund"), "id": same_id},
    ]
    response = await client.put(RULES, json={"rules": duplicated}, headers=bearer(admin))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "recommendation.duplicate_rule_id"

    for weight in (1001, -1001):
        heavy = [_rule("过重", weight, {}, category="fund")]
        response = await client.put(RULES, json={"rules": heavy}, headers=bearer(admin))
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "request.validation_failed"
    nameless = [_rule("", 5, {}, category="fund")]
    assert (
        await client.put(RULES, json={"rules": nameless}, headers=bearer(admin))
    ).status_code == 422

    assert await _rule_rows(db) == before
    # The extremes themselves are allowed.
    edges = [_rule("最高", 1000, {}, category="fund"), _rule("最低", -1000, {}, category="x")]
    assert (
        await client.put(RULES, json={"rules": edges}, headers=bearer(admin))
    ).status_code == 200


# ---- ranking ---------------------------------------------------------------------------------


@pytest.fixture
async def ranked_world(client, db, admin) -> uuid.UUID:
    """A C3 'wealth' retiree with 600,000 AUM who holds bonds and some capped deposits."""
    await _feed(
        client,
        admin,
        "products",
        [
            _product("DEP-1", "deposit", 1),
            _product("FUND-A", "fund", 2),
            _product("FUND-B", "fund", 3),
            _product("BOND-1", "bond", 2),
            _product("BOND-2", "bond", 2),
            _product("CAP-2", "deposit", 1, max_holding="100000"),
            _product("NEG-1", "fund", 1),
            # Favoured heavily below, but never suitable:
            _product("EQ-1", "equity", 4),
            _product("PE-1", "private", 5),
            _product("OLD-1", "fund", 1, active=False),
            _product("CAP-1", "deposit", 1, max_holding="100000"),
            _product("CAP-3", "deposit", 1, max_holding="100000"),
        ],
    )
    await _feed(
        client,
        admin,
        "customers",
        [
            _customer("C-1", 1, risk_level="C3", segment="wealth", tags=["retiree"], aum="600000"),
            _customer("C-2", 2, risk_level="C5", segment="mass", tags=[], aum="1000"),
        ],
    )
    today = date.today().isoformat()
    await _feed(
        client,
        admin,
        "holdings",
        [
            {"customer_external_id": "C-1", "product_code": code, "amount": amount, "as_of": today}
            for code, amount in (
                ("BOND-1", "20000"),
                ("CAP-1", "100000"),  # at the cap
                ("CAP-3", "150000"),  # above the cap
                ("CAP-2", "50000"),  # below the cap
            )
        ],
    )
    rules = [
        _rule("财富客群配基金", 10, {"segment": "wealth"}, category="fund"),
        _rule("养老客群配存款", 20, {"tag": "retiree"}, product_code="DEP-1"),
        _rule("持债客户看债券", 5, {"holds_category": "bond"}, category="bond"),
        _rule("中等资产看 FUND-B", 7, {"min_aum": "500000"}, product_code="FUND-B"),
        _rule("不推 NEG-1", -50, {}, product_code="NEG-1"),
        # Rules that do not apply to this customer:
        _rule("大众客群配存款", 100, {"segment": "mass"}, category="deposit"),
        _rule("千万客户配基金", 100, {"min_aum": "10000000"}, category="fund"),
        _rule("年轻客群配债", 100, {"tag": "young"}, category="bond"),
        _rule("持股客户配基金", 100, {"holds_category": "equity"}, category="fund"),
        # Rules that favour products that must never be returned:
        _rule("强推权益", 1000, {}, category="equity"),
        _rule("强推私募", 1000, {"segment": "wealth"}, product_code="PE-1"),
        _rule("强推旧产品", 1000, {}, product_code="OLD-1"),
        _rule("强推封顶存款", 900, {"tag": "retiree"}, product_code="CAP-1"),
        _rule("强推超限存款", 900, {}, product_code="CAP-3"),
    ]
    response = await client.put(RULES, json={"rules": rules}, headers=bearer(admin))
    assert response.status_code == 200, response.text
    customer_id: uuid.UUID = await db.fetchval("select id from customers where external_id = 'C-1'")
    return customer_id


async def test_rules_rank_products_and_suitability_always_wins(client, rm01, ranked_world):
    response = await client.get(
        f"/api/v1/customers/{ranked_world}/recommendations", headers=bearer(rm01)
    )
    assert response.status_code == 200, response.text
    got = [(r["product_code"], r["score"], r["reasons"]) for r in response.json()["items"]]
    assert got == [
        ("DEP-1", 20, ["养老客群配存款"]),
        ("FUND-B", 17, ["财富客群配基金", "中等资产看 FUND-B"]),
        ("FUND-A", 10, ["财富客群配基金"]),
        ("BOND-1", 5, ["持债客户看债券"]),
        ("BOND-2", 5, ["持债客户看债券"]),
        ("CAP-2", 0, []),
    ]
    first = response.json()["items"][0]
    assert first["name"] == "产品 DEP-1"
    assert first["category"] == "deposit"
    assert first["risk_level"] == "R1"
    limited = await client.get(
        f"/api/v1/customers/{ranked_world}/recommendations?limit=2", headers=bearer(rm01)
    )
    assert [r["product_code"] for r in limited.json()["items"]] == ["DEP-1", "FUND-B"]


async def test_product_changes_from_the_feed_take_effect(client, db, admin, rm01, ranked_world):
    # The bank raises FUND-B to R4 and retires DEP-1: both disappear from the ranking.
    await _feed(
        client,
        admin,
        "products",
        [_product("FUND-B", "fund", 4), _product("DEP-1", "deposit", 1, active=False)],
    )
    response = await client.get(
        f"/api/v1/customers/{ranked_world}/recommendations", headers=bearer(rm01)
    )
    assert [r["product_code"] for r in response.json()["items"]] == [
        "FUND-A",
        "BOND-1",
        "BOND-2",
        "CAP-2",
    ]
    # A larger position in CAP-2 reaches the cap: it goes too.
    await _feed(
        client,
        admin,
        "holdings",
        [
            {
                "customer_external_id": "C-1",
                "product_code": "CAP-2",
                "amount": "100000",
                "as_of": date.today().isoformat(),
            }
        ],
    )
    response = await client.get(
        f"/api/v1/customers/{ranked_world}/recommendations", headers=bearer(rm01)
    )
    assert [r["product_code"] for r in response.json()["items"]] == ["FUND-A", "BOND-1", "BOND-2"]


async def test_recommendations_are_scoped_like_the_customer(client, rm01, ranked_world):
    path = f"/api/v1/customers/{ranked_world}/recommendations"
    for who, status in (("rm02", 404), ("rm05", 404), ("bh.west", 404), ("bh.east", 200)):
        tokens = await login(client, who, device_no=f"rec-{who}")
        response = await client.get(path, headers=bearer(tokens))
        assert response.status_code == status, who
        if status == 404:
            assert response.json()["code"] == "customer.not_found"
    unknown = await client.get(
        f"/api/v1/customers/{uuid.uuid4()}/recommendations", headers=bearer(rm01)
    )
    assert unknown.status_code == 404
    for who in ("marketing", "admin"):
        tokens = await login(client, who, device_no=f"rec-{who}")
        assert (await client.get(path, headers=bearer(tokens))).status_code == 403


# ---- suitability, property-based --------------------------------------------------------------

SEGMENTS = ["mass", "affluent", "private"]
TAGS = ["vip", "retiree", "young"]
CATEGORIES = ["fund", "deposit", "bond"]


@dataclass(frozen=True)
class _P:
    code: str
    category: str
    risk: int
    max_holding: int | None
    active: bool


products_st = st.lists(
    st.builds(
        _P,
        code=st.just(""),
        category=st.sampled_from(CATEGORIES),
        risk=st.integers(1, 5),
        max_holding=st.one_of(st.none(), st.integers(1, 5).map(lambda n: n * 10_000)),
        active=st.booleans(),
    ),
    min_size=1,
    max_size=10,
)
customer_st = st.fixed_dictionaries(
    {
        "risk": st.integers(1, 5),
        "segment": st.one_of(st.none(), st.sampled_from(SEGMENTS)),
        "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
        "aum": st.integers(0, 5).map(lambda n: n * 100_000),
    }
)
rule_st = st.fixed_dictionaries(
    {
        "segment": st.one_of(st.none(), st.sampled_from(SEGMENTS)),
        "tag": st.one_of(st.none(), st.sampled_from(TAGS)),
        "holds_category": st.one_of(st.none(), st.sampled_from(CATEGORIES)),
        "min_aum": st.one_of(st.none(), st.integers(0, 5).map(lambda n: n * 100_000)),
        # A product index (resolved once the products exist) or a category.
        "target": st.one_of(st.integers(0, 9), st.sampled_from(CATEGORIES)),
        "weight": st.one_of(st.integers(-1000, 1000), st.sampled_from([-1000, 0, 1000])),
    }
)


def _expected(
    products: list[_P],
    customer: dict[str, Any],
    held: dict[str, int],
    rules: list[wire.RecommendationRule],
) -> list[tuple[str, int]]:
    """The ranking the rule table describes, computed independently of the SQL."""
    held_categories = {p.category for p in products if p.code in held}
    applicable = [
        r
        for r in rules
        if (r.when.segment is None or r.when.segment == customer["segment"])
        and (r.when.tag is None or r.when.tag in customer["tags"])
        and (r.when.min_aum is None or customer["aum"] >= r.when.min_aum)
        and (r.when.holds_category is None or r.when.holds_category in held_categories)
    ]
    ranking = []
    for p in products:
        if not p.active or p.risk > customer["risk"]:
            continue
        if p.max_holding is not None and held.get(p.code, 0) >= p.max_holding:
            continue
        score = sum(
            r.weight
            for r in applicable
            if r.recommend.product_code == p.code or r.recommend.category == p.category
        )
        if score >= 0:
            ranking.append((p.code, score))
    return sorted(ranking, key=lambda item: (-item[1], item[0]))


@hypothesis.settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    products=products_st,
    customer=customer_st,
    holdings=st.lists(
        st.tuples(st.integers(0, 9), st.integers(1, 8).map(lambda n: n * 10_000)), max_size=6
    ),
    rule_specs=st.lists(rule_st, max_size=8),
)
async def test_no_rule_ever_breaks_suitability(
    settings, db, products, customer, holdings, rule_specs
):
    # The previous example's rows, and what refers to them (a TRUNCATE ... CASCADE each example
    # swapped the files of every table referring to customers: most of this test's time).
    await empty_with_referrers(db, ["products", "customers", "recommendation_rules"])
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    products = [
        _P(f"P{i:02d}", p.category, p.risk, p.max_holding, p.active) for i, p in enumerate(products)
    ]
    async with db.transaction():
        await feeds.upsert_products(
            db,
            rows=[
                wire.ProductFeedRow(
                    code=p.code,
                    name=f"产品 {p.code}",
                    category=p.category,
                    risk_level=f"R{p.risk}",
                    max_holding=Decimal(p.max_holding) if p.max_holding else None,
                    active=p.active,
                )
                for p in products
            ],
        )
        result = await feeds.upsert_customers(
            db,
            vault=vault,
            rows=[
                msgspec.convert(
                    _customer(
                        "PROP-1",
                        1,
                        risk_level=f"C{customer['risk']}",
                        segment=customer["segment"],
                        tags=customer["tags"],
                        aum=str(customer["aum"]),
                    ),
                    wire.CustomerFeedRow,
                    strict=False,
                )
            ],
        )
        assert result.inserted == 1
        held = {products[i % len(products)].code: amount for i, amount in holdings}
        await feeds.upsert_holdings(
            db,
            rows=[
                wire.HoldingFeedRow(
                    customer_external_id="PROP-1",
                    product_code=code,
                    amount=Decimal(amount),
                    as_of=date(2026, 1, 1),
                )
                for code, amount in held.items()
            ],
        )
        rules = [
            wire.RecommendationRule(
                name=f"rule {n}",
                when=wire.RuleCondition(
                    segment=spec["segment"],
                    tag=spec["tag"],
                    holds_category=spec["holds_category"],
                    min_aum=Decimal(spec["min_aum"]) if spec["min_aum"] is not None else None,
                ),
                recommend=(
                    wire.RuleTarget(product_code=products[spec["target"] % len(products)].code)
                    if isinstance(spec["target"], int)
                    else wire.RuleTarget(category=spec["target"])
                ),
                weight=spec["weight"],
            )
            for n, spec in enumerate(rule_specs)
        ]
        await recommendations.replace_rules(db, table=wire.RecommendationRules(rules=rules))
    customer_id = await db.fetchval("select id from customers where external_id = 'PROP-1'")
    caller = Caller(
        user_id=uuid5_for("user:rm01"),
        role=Role.RM,
        org_unit_id=uuid5_for("org:team-east-1"),
        session_id=uuid.uuid4(),
        device_id="device-00000001",
    )

    got = await recommendations.recommend(db, caller=caller, customer_id=customer_id, limit=50)

    by_code = {p.code: p for p in products}
    for r in got:
        product = by_code[r.product_code]
        assert product.risk <= customer["risk"], r
        assert int(r.risk_level.value[1]) == product.risk
        assert product.active, r
        if product.max_holding is not None:
            assert held.get(product.code, 0) < product.max_holding, r
        assert r.score >= 0, r
    scores = [r.score for r in got]
    assert scores == sorted(scores, reverse=True)
    assert [(r.product_code, r.score) for r in got] == _expected(products, customer, held, rules)
