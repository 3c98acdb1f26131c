"""Regular expressions for contract fields, alike in the server and in the apps' OpenAPI readers,
each with what it accepts said in words.

A pattern is checked by Python's `re` here (msgspec, Litestar) and by ECMA-262 engines in the
apps' generated clients. Two differences matter:

- `$` in Python (and in Java and ICU) also matches before a final line break, so `^[a-z]+$`
  takes "abc\\n" here where ECMA-262 refuses it; `whole` pins the end with a lookahead that
  means "nothing follows" in every engine. (`\\Z` would do in Python, but ECMA-262 lacks it.)
- `\\d` and `\\w` are Unicode-wide in Python (Arabic-Indic digits pass) and ASCII in
  ECMA-262: write `[0-9]` and `[A-Za-z0-9_]`.

A regular expression means nothing to the people who read a refusal (an app developer, an RM):
`says` is what the pattern accepts, in words that follow "must be" ("a date like 2026-12-01").
The 422 answers say a refused value "must be <that>" instead of showing the pattern
(`workbench.http.problems`); `described` looks it up.
"""

from __future__ import annotations

_DESCRIPTIONS: dict[str, str] = {}
"""Each described pattern (as given to msgspec and in the OpenAPI document) -> its words."""


def whole(body: str, *, says: str | None = None) -> str:
    """`body` matching the whole string and nothing more, in Python and ECMA-262 alike; `says`
    what it accepts, in words following "must be" (see `described`)."""
    pattern = rf"^(?:{body})$(?![\s\S])"
    if says is not None:
        _describe(pattern, says)
    return pattern


def anywhere(body: str, *, says: str) -> str:
    """`body` found anywhere in the value (`\\S`: not only spaces), said in words as `whole`."""
    _describe(body, says)
    return body


def described(pattern: str) -> str | None:
    """What a value matching `pattern` is, in words following "must be"; None if not said."""
    return _DESCRIPTIONS.get(pattern)


def _describe(pattern: str, says: str) -> None:
    said = _DESCRIPTIONS.setdefault(pattern, says)
    if said != says:  # one pattern, one meaning: the same words wherever it is used
        raise ValueError(f"{pattern!r} is already said as {said!r}, not {says!r}")
