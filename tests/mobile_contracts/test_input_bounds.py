"""Every value a client sends fits the column it goes to, by the contract's own types: numbers
are bounded, amounts are checked `Money`, and nothing required may be null. (A value beyond a
column would otherwise reach PostgreSQL and fail there, unnamed.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from mobile_contracts.export import current_document
from mobile_contracts.v1.common import CheckedAmounts
from workbench.app import create_app
from workbench.settings import DataKey, JwtKey, Settings


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(
        Settings(
            database_url="postgresql://unused",
            redis_url="redis://unused",
            jwt_keys=(JwtKey(kid="t", seed=b"\0" * 32),),
            data_keys=(DataKey(kid="t", key=b"\0" * 32),),
            blind_index_key=b"\0" * 32,
        )
    )


def request_bodies(app: Any) -> Iterator[tuple[str, Any]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                yield f"{sorted(handler.http_methods)[0]} {route.path}", data.annotation


def unbounded(info: mi.Type, where: str, seen: set[type]) -> Iterator[str]:
    if isinstance(info, mi.Metadata):
        if isinstance(info.type, mi.DecimalType) and (info.extra or {}).get("money"):
            return
        yield from unbounded(info.type, where, seen)
    elif isinstance(info, mi.IntType | mi.FloatType):
        if (info.ge is None and info.gt is None) or (info.le is None and info.lt is None):
            yield f"{where}: a number without bounds"
    elif isinstance(info, mi.DecimalType):
        yield f"{where}: a decimal that is not `Money`"
    elif isinstance(info, mi.StructType):
        if info.cls in seen:
            return
        seen.add(info.cls)
        money = any(_is_money(f.type) for f in info.fields)
        if money and not issubclass(info.cls, CheckedAmounts):
            yield f"{where}: {info.cls.__name__} holds Money but does not check it"
        for f in info.fields:
            if isinstance(f.type, mi.AnyType):
                yield f"{where}.{f.encode_name}: any value, null included"
            yield from unbounded(f.type, f"{where}.{f.encode_name}", seen)
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from unbounded(member, where, seen)
    elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        yield from unbounded(info.item_type, f"{where}[]", seen)
    elif isinstance(info, mi.DictType):
        yield from unbounded(info.value_type, f"{where}.*", seen)


def _is_money(info: mi.Type) -> bool:
    if isinstance(info, mi.UnionType):
        return any(_is_money(t) for t in info.types)
    return isinstance(info, mi.Metadata) and bool((info.extra or {}).get("money"))


def test_every_number_in_a_request_body_is_bounded_and_every_amount_checked(app):
    problems: list[str] = []
    checked = 0
    for where, annotation in request_bodies(app):
        try:
            info = mi.type_info(annotation)
        except TypeError:
            continue  # multipart forms: their parts are checked where they are read
        checked += 1
        problems += unbounded(info, where, set())
    assert checked > 20
    assert problems == []


def test_every_numeric_parameter_is_bounded():
    problems = []
    for path, operations in current_document()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                kinds = {schema.get("type")} | {s.get("type") for s in schema.get("oneOf", [])}
                if kinds & {"integer", "number"} and not (
                    ("minimum" in schema or "exclusiveMinimum" in schema)
                    and ("maximum" in schema or "exclusiveMaximum" in schema)
                ):
                    problems.append(f"{method.upper()} {path} {parameter['name']}")
    assert problems == []


def test_an_amount_beyond_its_column_is_refused_by_name():
    from mobile_contracts.v1.customers import HoldingFeed

    body = (
        b'{"holdings": [{"customer_external_id": "C1", "product_code": "P", "as_of": '
        b'"2026-12-01", "amount": "1e400"}]}'
    )
    with pytest.raises(
        msgspec.ValidationError,
        match=r"amount: must be below 10\^18 in size - at `\$\.holdings\[0\]`",
    ):
        msgspec.json.decode(body, type=HoldingFeed)
