"""Product recommendations ranked by an admin-editable rule table, never breaking suitability.

A rule says "customers who match WHEN get WEIGHT on products matching RECOMMEND". A product's
score is the sum of the weights of the rules that apply; negative sums drop it. Whatever the rules
say, SQL only ever considers active products whose risk level (R1-R5) is at most the customer's
(C1-C5) and that the customer does not already hold at the product's cap.

An admin writes the rules; RMs read their names as the reasons of a recommendation, and the
console lists their conditions and targets. Each is checked as the feeds check what it is
matched against (`_check_texts`).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from mobile_contracts.v1 import customers as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.customers import queries
from workbench.customers.views import text_filter, visible_customer
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.visible import reads_otherwise, shows_something

DEFAULT_LIMIT = 10

# The longest a rule's texts may be, trimmed: a name as the contract bounds it, and a condition or
# target as long as what the bank feeds store for it (a customer's segment and tags, a product's
# category; `customers.feeds`): a longer one would match nothing.
NAME_MAX = 100
SEGMENT_MAX = TAG_MAX = 40
CATEGORY_MAX = 60
_PRODUCT_CODE = re.compile(r"[A-Za-z0-9._-]{1,40}\Z")  # as the product feed takes codes
READS_OTHERWISE = (
    "must not hold a line break, a control character or a direction override, which make it"
    " read otherwise than typed"
)
SHOWS_NOTHING = "must show something: not spaces or invisible characters only"


class RuleTextRefused(DomainError):
    """A rule's name, condition or target that would read otherwise than typed, show nothing or
    run past its length (422 naming each, as a title that does: `staff.visible_name`)."""

    status, code, title = 422, "request.validation_failed", "Invalid request"


class UnsuitableRecommendation(DomainError):
    """Raised if SQL ever returned an unsuitable product: a bug must never reach an RM."""

    status, code, title = 500, "recommendation.unsuitable", "Recommendation check failed"


async def recommend(
    conn: Connection, *, caller: Caller, customer_id: uuid.UUID, limit: int = DEFAULT_LIMIT
) -> list[wire.Recommendation]:
    """The best `limit` products for the customer, best first."""
    return (await recommend_page(conn, caller=caller, customer_id=customer_id, limit=limit)).items


async def recommend_page(
    conn: Connection,
    *,
    caller: Caller,
    customer_id: uuid.UUID,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[wire.Recommendation]:
    """A page of the customer's ranking, best first: the cursor holds the last item's (score,
    product code), so the next page goes on below it even if the ranking moved meanwhile."""
    await visible_customer(conn, caller=caller, customer_id=customer_id)
    after = decode_cursor(cursor, tuple[int, str])
    rows = await queries.ranked_products(conn, customer_id, limit=limit + 1, after=after)
    for row in rows:  # belt and braces: the WHERE clause already guarantees this
        if row["risk_level"] > row["customer_risk_level"]:
            raise UnsuitableRecommendation()
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=[
            wire.Recommendation(
                product_code=r["code"],
                name=r["name"],
                category=r["category"],
                risk_level=wire.ProductRisk(f"R{r['risk_level']}"),
                score=r["score"],
                reasons=list(r["reasons"]),
            )
            for r in rows[:limit]
        ],
        next_cursor=encode_cursor([last["score"], last["code"]]) if last else None,
    )


async def rules(conn: Connection) -> wire.RecommendationRules:
    return _table(await queries.recommendation_rules(conn))


def _table(rows: list[queries.Record]) -> wire.RecommendationRules:
    return wire.RecommendationRules(
        rules=[
            wire.RecommendationRule(
                id=r["id"],
                name=r["name"],
                when=wire.RuleCondition(
                    segment=r["when_segment"],
                    tag=r["when_tag"],
                    holds_category=r["when_holds_category"],
                    min_aum=r["when_min_aum"],
                ),
                recommend=wire.RuleTarget(
                    product_code=r["product_code"], category=r["product_category"]
                ),
                weight=r["weight"],
            )
            for r in rows
        ]
    )


async def replace_rules(
    conn: Connection,
    *,
    table: wire.RecommendationRules,
    caller: Caller | None = None,
    client_ip: str | None = None,
) -> wire.RecommendationRules:
    """Replace the whole rule table at once (one transaction: never half old, half new).

    An admin's (`caller`'s) replacement that changes the table is in the audit trail
    (`_change`), with their address (`client_ip`); one that changes nothing writes no row. A
    script filling the table (`caller` None: the demo seed) is no admin change."""
    columns: dict[str, list[Any]] = {
        k: []
        for k in (
            "id", "name", "segment", "tag", "holds_category", "min_aum", "product_code",
            "category", "weight",
        )
    }  # fmt: skip
    ids = [rule.id for rule in table.rules if rule.id is not None]
    if len(set(ids)) != len(ids):
        error = DomainError("Two rules carry the same id")
        error.code = "recommendation.duplicate_rule_id"
        raise error
    _check_texts(table)
    for index, rule in enumerate(table.rules):
        # Conditions and targets are matched against values the feeds store trimmed: a padded
        # one would never match, and a blank one is no condition (none given: every customer).
        product_code, category = (
            text_filter(rule.recommend.product_code),
            text_filter(rule.recommend.category),
        )
        if not (product_code or category):
            error = DomainError(f"rules[{index}].recommend needs a product_code or a category")
            error.code = "recommendation.rule_without_target"
            raise error
        columns["id"].append(rule.id or uuid7())
        columns["name"].append(rule.name.strip())
        columns["segment"].append(text_filter(rule.when.segment))
        columns["tag"].append(text_filter(rule.when.tag))
        columns["holds_category"].append(text_filter(rule.when.holds_category))
        columns["min_aum"].append(rule.when.min_aum)
        columns["product_code"].append(product_code)
        columns["category"].append(category)
        columns["weight"].append(rule.weight)
    await queries.lock_recommendation_rules(conn)  # `before` is what this save replaces
    before = await queries.recommendation_rules(conn)
    await queries.replace_recommendation_rules(conn, columns)
    after = await queries.recommendation_rules(conn)
    change = _change(before, after)
    if caller is not None and change is not None:
        await audit.record(
            conn,
            action="recommendation_rules.replaced",
            actor_id=caller.user_id,
            subject="recommendation_rules",
            client_ip=client_ip,
            detail=change,
        )
    return _table(after)


def _check_texts(table: wire.RecommendationRules) -> None:
    """`RuleTextRefused` naming every rule text that fails `_text_problem`: a name (one that shows
    nothing too), and a condition or target given with something in it (a blank one is none)."""
    errors: list[FieldError] = []
    for index, rule in enumerate(table.rules):
        path = f"$.rules[{index}]"
        texts = (
            ("name", rule.name, NAME_MAX),
            ("when.segment", rule.when.segment, SEGMENT_MAX),
            ("when.tag", rule.when.tag, TAG_MAX),
            ("when.holds_category", rule.when.holds_category, CATEGORY_MAX),
            ("recommend.category", rule.recommend.category, CATEGORY_MAX),
        )
        for field, text, limit in texts:
            if text is not None and (problem := _text_problem(text, limit, blank=field == "name")):
                errors.append(FieldError(path=f"{path}.{field}", message=problem))
        code = text_filter(rule.recommend.product_code)
        if code is not None and not _PRODUCT_CODE.match(code):
            message = "1 to 40 letters, digits, ., _ and - (a code of the product feed)"
            errors.append(FieldError(path=f"{path}.recommend.product_code", message=message))
    if errors:
        where = ", ".join(e.path for e in errors[:5])
        raise RuleTextRefused(f"{len(errors)} problem(s) in the rules: {where}", errors=errors)


def _text_problem(text: str, limit: int, *, blank: bool) -> str | None:
    """Why a rule's text (trimmed, as it is stored and matched) cannot be taken, if so: longer
    than `limit`, a control character or a direction override (it would read otherwise than
    typed, and match no value the feeds take), nothing to see (invisible characters; spaces
    only too if `blank`: a blank condition or target is none)."""
    text = text.strip()
    if not text and not blank:
        return None
    if len(text) > limit:
        return f"at most {limit} characters"
    if reads_otherwise(text):
        return READS_OTHERWISE
    if not shows_something(text):
        return SHOWS_NOTHING
    return None


# A rule's settings as the audit trail names them (their paths in the request), by column.
_AUDITED = (
    ("name", "name"),
    ("when.segment", "when_segment"),
    ("when.tag", "when_tag"),
    ("when.holds_category", "when_holds_category"),
    ("when.min_aum", "when_min_aum"),
    ("recommend.product_code", "product_code"),
    ("recommend.category", "product_category"),
    ("weight", "weight"),
)


def _change(before: list[queries.Record], after: list[queries.Record]) -> dict[str, Any] | None:
    """What a replacement changed, as the audit trail keeps it (ids and field names, never
    values, as for every admin change): the rules added and removed, those kept under their id
    with the fields that changed, and how many rules there were before and after. None: the
    table is as it was."""
    was = {r["id"]: r for r in before}
    now = {r["id"]: r for r in after}
    changed = [
        {"id": str(rule_id), "fields": fields}
        for rule_id, row in now.items()
        if rule_id in was
        and (fields := [name for name, column in _AUDITED if was[rule_id][column] != row[column]])
    ]
    added = [str(i) for i in now if i not in was]
    removed = [str(i) for i in was if i not in now]
    if not (added or removed or changed):
        return None
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "rules": {"before": len(before), "after": len(after)},
    }
