"""The decoders' refusals said in words: what a value must be, never msgspec's own phrasing.

msgspec (and so Litestar, for bodies and for query, path and header parameters) refuses a value
in its own terms: "Invalid RFC3339 encoded datetime", "Expected `str` of length >= 8",
"Invalid enum value 'x'", "Object missing required field `x`", a quoted regular expression.
The people who read a 422 (an app's developer, an RM reading an offline change's refusal) need
to know what to send instead. `said` turns each refusal into words that follow the path
("must be a date like 2026-12-01", "must be at least 8 characters", "must be one of: pending,
done", "is required"), looking at the declared type at that path where the words need it (an
enum's values, a pattern's words). A message it does not know as msgspec's (a contract's own
check, "must not contain NUL characters") is already in words and is kept as it is.
"""

from __future__ import annotations

import ast
import enum
import functools
import re
from collections.abc import Iterator
from typing import Any

import msgspec.inspect as mi

from mobile_contracts.v1.patterns import described

DATETIME = "a date and time with an offset, like 2026-12-01T09:00:00+08:00"
DATETIME_WITHOUT_OFFSET = "a date and time without an offset, like 2026-12-01T09:00:00"
DATE = "a date like 2026-12-01"
TIME = "a time like 09:00:00"
TIME_WITH_OFFSET = "a time with an offset, like 09:00:00+08:00"
UUID = "a UUID like 3f2b8c1e-9d4a-4f6b-8e2d-7a1c5b9e0f42"
REQUIRED = "is required"
NOT_TAKEN = "is not a field this request takes"
NOT_ONE_OF = "is not one of the values this field takes"
WRONG = "is not a value this field takes"

# What each of msgspec's type names (as in "Expected `int | null`, got `str`") is, in words.
_TYPE_WORDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "number": "a number",
    "decimal": "a number like 12.5",
    "bool": "true or false",
    "null": "null",
    "object": "an object",
    "array": "a list",
    "bytes": "base64-encoded data",
    "datetime": DATETIME,
    "date": DATE,
    "time": TIME,
    "duration": "a duration like P1DT2H",
    "timedelta": "a duration like P1DT2H",
    "uuid": UUID,
}
_COMPARED = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}
_UNIT = {"str": "character", "bytes": "byte", "array": "item", "object": "entry"}

_AT = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
# A struct's own check names its field first (`aum: must be below 10^18`, see CheckedAmounts).
_FIELD_FIRST = re.compile(r"^(?P<field>[a-z_][a-z0-9_]*): (?P<message>.+)$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
# msgspec quotes a refused pattern as Python writes a string: `'^(?:[0-9]{4}...)$...'`.
_REGEX = re.compile(
    r"Expected `str` matching regex (?P<pattern>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
)
_TYPE = re.compile(r"^Expected `(?P<expected>[^`]+)`(?:, got `(?P<got>[^`]+)`)?$")
_BOUND = re.compile(r"^Expected `(?:int|float)` (?P<op>>=|>|<=|<) (?P<bound>\S+)$")
_MULTIPLE = re.compile(r"^Expected `(?:int|float)` that's a multiple of (?P<n>\S+)$")
_LENGTH = re.compile(
    r"^Expected `(?P<kind>str|bytes|array|object)` of "
    r"(?:length (?P<op>>=|<=) (?P<n>\d+)"
    r"|at least length (?P<least>\d+)(?:, got \d+)?"
    r"|at most length (?P<most>\d+)(?:, got \d+)?"
    r"|length (?P<low>\d+) to (?P<high>\d+)(?:, got \d+)?"
    r"|length (?P<exactly>\d+)(?:, got \d+)?)$"
)
_OFFSET = re.compile(
    r"^Expected `(?P<kind>datetime|time)` with (?:(?P<no>no)|a) timezone component$"
)
_FIXED = {
    "Invalid RFC3339 encoded datetime": f"must be {DATETIME}",
    "Invalid RFC3339 encoded date": f"must be {DATE}",
    "Invalid RFC3339 encoded time": f"must be {TIME}",
    "Invalid ISO8601 duration": "must be a duration like P1DT2H",
    "Invalid UUID": f"must be {UUID}",
    "Invalid UUID bytes": f"must be {UUID}",
    "Invalid decimal string": "must be a number like 12.5",
    "Invalid base64 encoded string": "must be base64-encoded data",
    "Integer value out of range": "is too large a number",
    "Number out of range": "is too large a number",
    "Invalid epoch timestamp": "is out of range",
    "Duration is out of range": "is out of range",
}
_CHOICE = re.compile(r"^Invalid (?:enum )?value (?:'.*'|\".*\"|-?\d+)$", re.S)


def said(message: str, of: list[mi.Type] | None = None) -> tuple[str | None, str]:
    """msgspec's (or Litestar's) `message` about one value, in words following its path; with
    the field it names when the words are about a field of that value (left out, not taken, a
    struct's own check): the caller locates them there. `of`: the types the value is declared
    as, when known (`type_at`), for the words that need them (an enum's values, a pattern's)."""
    text = message.strip()
    if found := _MISSING.match(text):
        return found.group("field"), REQUIRED
    if found := _UNKNOWN.match(text):
        return found.group("field"), NOT_TAKEN
    if found := _FIELD_FIRST.match(text):
        return found.group("field"), found.group("message")
    return None, _value_words(text, of)


def in_words(text: str, of: Any = None) -> str:
    """A refusal as msgspec words it (`<message>` or `<message> - at `<path>``), said in words
    with its path (moved onto the field for one left out or not taken). `of`: the type the
    refused document was decoded as, if known, to look up what its values may be."""
    found = _AT.match(text)
    message, path = (found.group("message"), found.group("path")) if found else (text, None)
    field, words = said(message, type_at(of, path or "$"))
    if field is not None:
        path = f"{path or '$'}.{field}"
    return f"{words} - at `{path}`" if path else words


def patterns_said(text: str) -> str:
    """`text` with each pattern msgspec quotes in it said in words, and nothing else changed
    (a detail of our own that merely quotes a refusal)."""
    return _REGEX.sub(_pattern_words, text)


def _value_words(text: str, of: list[mi.Type] | None) -> str:
    if text in _FIXED:
        return _FIXED[text]
    if _REGEX.search(text):
        return _REGEX.sub(_pattern_words, text)
    if found := _OFFSET.match(text):
        with_offset = found.group("no") is None
        if found.group("kind") == "datetime":
            return f"must be {DATETIME if with_offset else DATETIME_WITHOUT_OFFSET}"
        return f"must be {TIME_WITH_OFFSET if with_offset else TIME}"
    if found := _BOUND.match(text):
        return f"must be {_COMPARED[found.group('op')]} {_number(found.group('bound'))}"
    if found := _MULTIPLE.match(text):
        return f"must be a multiple of {_number(found.group('n'))}"
    if found := _LENGTH.match(text):
        return _length_words(found)
    if _CHOICE.match(text):
        choices = _choices(of)
        return f"must be one of: {choices}" if choices else NOT_ONE_OF
    if found := _TYPE.match(text):
        return _type_words(found.group("expected"), found.group("got"), of)
    if text.startswith(("Expected `", "Invalid ")):  # a refusal of msgspec's not listed above
        return WRONG
    return text


def _pattern_words(found: re.Match[str]) -> str:
    """A pattern msgspec quotes, as what it accepts (`patterns.whole(..., says=)`); a pattern
    not described "has the wrong format": a regular expression helps no one who reads it."""
    try:
        pattern = ast.literal_eval(found.group("pattern"))  # msgspec quotes it with repr()
    except (ValueError, SyntaxError):
        pattern = None
    words = described(pattern) if isinstance(pattern, str) else None
    return f"must be {words}" if words else "has the wrong format"


def _length_words(found: re.Match[str]) -> str:
    kind = found.group("kind")
    unit = _UNIT[kind]
    verb = "must be" if kind in ("str", "bytes") else "must have"
    if found.group("op") == ">=" or found.group("least"):
        n = int(found.group("n") or found.group("least"))
        if n == 1:
            return "must not be empty"
        return f"{verb} at least {_count(n, unit)}"
    if found.group("op") == "<=" or found.group("most"):
        return f"{verb} at most {_count(int(found.group('n') or found.group('most')), unit)}"
    if found.group("low"):
        return f"{verb} {found.group('low')} to {_count(int(found.group('high')), unit)}"
    return f"{verb} exactly {_count(int(found.group('exactly')), unit)}"


def _type_words(expected: str, got: str | None, of: list[mi.Type] | None) -> str:
    names = [name.strip() for name in expected.split("|")]
    scalar = not {"array", "object"} & set(names)  # else the value's own type, not its items'
    if scalar and (choices := _choices(of)):
        words = f"one of: {choices}"
    elif scalar and (pattern := _described_pattern(of)):
        words = pattern
    elif all(name in _TYPE_WORDS for name in names):
        words = " or ".join(_TYPE_WORDS[name] for name in names)
    else:
        return WRONG
    return f"must be {words}, not null" if got == "null" else f"must be {words}"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {'entries' if unit == 'entry' else unit + 's'}"


def _number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


# ---- the declared type at a path ---------------------------------------------------------------

_STEP = re.compile(r"\.(?P<field>[^.\[]+)|\[(?P<index>\d+)\]|\[\.\.\.\]")


def type_at(root: Any, path: str) -> list[mi.Type]:
    """The declared types the value at `path` (`$.holdings[0].as_of`) of a `root` document may
    have (a union's members each); empty when the path leads nowhere known."""
    info = _info(root)
    if info is None or not path.startswith("$"):
        return []
    steps = list(_STEP.finditer(path[1:]))
    if "".join(step.group(0) for step in steps) != path[1:]:  # a path not read to its end
        return []
    found: list[mi.Type] = [info]
    for step in steps:
        found = [t for candidate in found for t in _into(candidate, step)]
    return found


@functools.lru_cache(maxsize=512)
def _cached_info(annotation: Any) -> mi.Type | None:
    try:
        return mi.type_info(annotation)
    except Exception:  # a type msgspec cannot describe: its values are not looked up
        return None


def _info(annotation: Any) -> mi.Type | None:
    if annotation is None:
        return None
    try:
        return _cached_info(annotation)
    except TypeError:  # unhashable
        return None


def _members(t: mi.Type) -> Iterator[mi.Type]:
    """`t` itself, or each member of a union (through `Annotated` metadata)."""
    if isinstance(t, mi.Metadata):
        yield from _members(t.type)
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            yield from _members(member)
    else:
        yield t


def _into(t: mi.Type, step: re.Match[str]) -> Iterator[mi.Type]:
    for member in _members(t):
        if (name := step.group("field")) is not None:
            if isinstance(member, mi.StructType) and member.tag_field == name:
                yield mi.LiteralType(values=(member.tag,))
            fields = getattr(member, "fields", ())
            yield from (f.type for f in fields if getattr(f, "encode_name", f.name) == name)
        elif (index := step.group("index")) is not None:
            if isinstance(member, mi.TupleType):
                if int(index) < len(member.item_types):
                    yield member.item_types[int(index)]
            elif isinstance(member, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
                yield member.item_type
        elif isinstance(member, mi.DictType):  # `[...]`: a value of a mapping
            yield member.value_type


def _choices(of: list[mi.Type] | None) -> str | None:
    """The values an enum or literal (or a list of them, as a query parameter) takes, in words."""
    values: list[Any] = []
    for t in _flat(of):
        if isinstance(t, mi.EnumType):
            values += [m.value for m in t.cls if isinstance(m, enum.Enum)]
        elif isinstance(t, mi.LiteralType):
            values += list(t.values)
    unique = list(dict.fromkeys(v for v in values if v is not None))
    return ", ".join(str(v) for v in unique) if unique else None


def _described_pattern(of: list[mi.Type] | None) -> str | None:
    for t in _flat(of):
        if isinstance(t, mi.StrType) and t.pattern and (words := described(t.pattern)):
            return words
    return None


def _flat(of: list[mi.Type] | None) -> Iterator[mi.Type]:
    """Each type of `of`, through unions and lists (a query parameter's list of enums)."""
    for t in of or []:
        for member in _members(t):
            if isinstance(member, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
                yield from _members(member.item_type)
            else:
                yield member
