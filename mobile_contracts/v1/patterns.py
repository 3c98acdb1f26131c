"""Regular expressions for contract fields, alike in the server and in the apps' OpenAPI readers.

A pattern is checked by Python's `re` here (msgspec, Litestar) and by ECMA-262 engines in the
apps' generated clients. Two differences matter:

- `$` in Python (and in Java and ICU) also matches before a final line break, so `^[a-z]+$`
  takes "abc\\n" here where ECMA-262 refuses it; `whole` pins the end with a lookahead that
  means "nothing follows" in every engine. (`\\Z` would do in Python, but ECMA-262 lacks it.)
- `\\d` and `\\w` are Unicode-wide in Python (Arabic-Indic digits pass) and ASCII in
  ECMA-262: write `[0-9]` and `[A-Za-z0-9_]`.
"""

from __future__ import annotations


def whole(body: str) -> str:
    """`body` matching the whole string and nothing more, in Python and ECMA-262 alike."""
    return rf"^(?:{body})$(?![\s\S])"
