"""A bank feed's rows, each decoded on its own: a row of the wrong shape is rejected alone.

A feed (customers, holdings, products, conversions, events) carries up to 10,000 rows; one row
with a value of the wrong type (`"aum": "abc"`, `id_number` left out, `"risk_level": 5`) must
not refuse the others, as a bad value (risk level C9) does not. A feed route declares its body as
the contract's envelope (so the OpenAPI document and its examples describe the rows, as before)
with `dto=EachRowAlone[Envelope], return_dto=None`: the envelope is decoded strictly (a body that
is not an object, rows that are not an array, more rows than the cap: one 422 for the request, as
before), each row by itself. The handler gets the envelope holding the rows that decoded, and
`apply` hands those to the feed's service and answers with the others among its rejections, at
their index in the feed: `row.invalid`, with the field (its path within the row) and what is
wrong in the API's words (`$.aum: must be a number like 12.5`), never the value sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException

from mobile_contracts.v1.customers import RejectedRow
from workbench.http.input_checks import rows_with_nul
from workbench.http.problems import BODY, in_words
from workbench.http.raw_body import BodyReadByHandler

ROW_INVALID = "row.invalid"
_DECODED = "feed_rows"  # request state: where the rows handed on stood, and the rows refused

# msgspec's words for a refused value: "<what> - at `$.<path within the row>`", or, for a
# struct's own check, "<field>: <what>", or, for a field left out, "Object missing required
# field `<field>`" (as `workbench.http.problems` reads them for a 422).
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD_FIRST = re.compile(r"^(?P<field>[a-z_][a-z0-9_]*): (?P<message>.+)$", re.S)
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
# The one refusal msgspec words with the value sent in it: never echoed (it may be personal).
_ENUM_VALUE = re.compile(r"^Invalid enum value\b.*", re.S)

Envelope = TypeVar("Envelope", bound=msgspec.Struct)
Row = TypeVar("Row")


class _Answer(Protocol):
    """A feed's answer: its rejections, each with its index (a `RejectedRow` or a dict)."""

    rejected: list[Any]


Answer = TypeVar("Answer", bound=_Answer)


@dataclass(frozen=True, slots=True)
class _Shape:
    """An envelope of one field holding the rows: the rows' type, and the envelope with each
    row kept as its JSON text (decoded strictly otherwise: the same array, the same cap)."""

    attribute: str
    row: type[msgspec.Struct]
    raw: type[msgspec.Struct]


@dataclass(frozen=True, slots=True)
class _Decoded:
    positions: list[int]  # the feed index of each row handed on, in order
    refused: list[tuple[int, str]]  # (feed index, why) of each row that did not decode


@functools.cache
def _shape(envelope: type[msgspec.Struct]) -> _Shape:
    info = msgspec.inspect.type_info(envelope)
    if not isinstance(info, msgspec.inspect.StructType) or len(info.fields) != 1:
        raise TypeError(f"{envelope.__name__}: a feed's envelope has one field, its rows")
    [field] = info.fields
    rows = field.type.type if isinstance(field.type, msgspec.inspect.Metadata) else field.type
    if not (
        field.required
        and isinstance(rows, msgspec.inspect.ListType)
        and isinstance(rows.item_type, msgspec.inspect.StructType)
    ):
        raise TypeError(f"{envelope.__name__}.{field.name}: a feed's rows are a required list")
    raw = msgspec.defstruct(
        f"{envelope.__name__}AsSent",
        [
            (
                field.name,
                Annotated[
                    list[msgspec.Raw],
                    msgspec.Meta(min_length=rows.min_length, max_length=rows.max_length),
                ],
                msgspec.field(name=field.encode_name),
            )
        ],
        kw_only=True,
        forbid_unknown_fields=info.forbid_unknown_fields,
    )
    return _Shape(attribute=field.name, row=rows.item_type.cls, raw=raw)


def said(refusal: msgspec.DecodeError, row: type[Any] | None = None) -> str:
    """Why a row (of type `row`) did not decode, as the API's 422 says it of a field: the
    field's path within the row, then what is wrong in the words of `in_words` (`$.aum: must
    be a number like 12.5`, `$.id_number: is required`), never a value sent."""
    found = _AT_PATH.match(in_words(str(refusal), row))
    assert found is not None  # the expression matches any text
    path, text = "$" + (found.group("path") or ""), found.group("message")
    if named := _FIELD_FIRST.match(text):
        path, text = f"{path}.{named.group('field')}", named.group("message")
    elif left_out := _MISSING_FIELD.match(text):
        path, text = f"{path}.{left_out.group('field')}", "required"
    if _ENUM_VALUE.match(text):
        text = "is not one of the values allowed"
    return f"{path}: {text}"


class EachRowAlone(BodyReadByHandler[Envelope]):
    """Decodes a feed's envelope strictly and each of its rows on its own (see the module).
    Documented as the envelope it is on the wire."""

    @classmethod
    def check_model(cls) -> None:
        """The envelope is checked as the app starts (one list of rows)."""
        _shape(cls.model_type)

    def decode_bytes(self, value: bytes) -> Envelope:
        """The envelope holding the rows that decoded; where they stood and why the others did
        not is kept for `apply`."""
        shape = _shape(self.model_type)
        try:
            sent = msgspec.json.decode(value, type=shape.raw, strict=False)
        except msgspec.ValidationError as exc:  # not an object, rows not an array, too many
            raise ValidationException(
                extra=[{"message": in_words(str(exc)), "key": BODY, "source": "body"}]
            ) from None
        except msgspec.DecodeError as exc:  # not JSON: the usual 422
            raise SerializationException(str(exc)) from None
        rows: list[Any] = []
        decoded = _Decoded(positions=[], refused=[])
        for index, raw in enumerate(getattr(sent, shape.attribute)):
            try:
                rows.append(msgspec.json.decode(raw, type=shape.row, strict=False))
            except msgspec.DecodeError as exc:  # a ValidationError, or a number out of range
                decoded.refused.append((index, said(exc, shape.row)))
            else:
                decoded.positions.append(index)
        self.asgi_connection.state[_DECODED] = decoded
        return self.model_type(**{shape.attribute: rows})


async def apply(
    request: Request[Any, Any, Any],
    rows: Sequence[Row],
    service: Callable[[list[Row], dict[int, str]], Awaitable[Answer]],
    *,
    rejected_as: Callable[..., Any] = RejectedRow,
) -> Answer:
    """Apply the rows that decoded (`service(rows, nul_rows)`, its indexes counting those rows)
    and answer with each rejection at its index in the feed, those of the rows that did not
    decode among them (`row.invalid`), in the feed's order. `rejected_as`: the type of the
    answer's rejections (`dict` for the events feed's)."""
    decoded: _Decoded = request.state[_DECODED]  # set by EachRowAlone: the route's `dto`
    positions = decoded.positions
    assert len(rows) == len(positions), "the rows the envelope holds are those that decoded"
    handed = {feed_index: index for index, feed_index in enumerate(positions)}
    nul_rows = {handed[i]: where for i, where in rows_with_nul(request).items() if i in handed}
    answer = await service(list(rows), nul_rows)
    rejected = [_at(entry, positions[_index(entry)]) for entry in answer.rejected]
    rejected += [
        rejected_as(index=index, code=ROW_INVALID, detail=why) for index, why in decoded.refused
    ]
    answer.rejected = sorted(rejected, key=_index)
    return answer


def _index(entry: Any) -> int:
    index: int = entry["index"] if isinstance(entry, dict) else entry.index
    return index


def _at(entry: Any, index: int) -> Any:
    """The rejection at this index of the feed."""
    if isinstance(entry, dict):
        return {**entry, "index": index}
    return msgspec.structs.replace(entry, index=index)
