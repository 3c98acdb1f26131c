"""Breaking changes for old apps between two OpenAPI 3.1 documents (last released vs current).

Breaking: an app built against `old` may send what `new` rejects, or receive what it cannot read.
Usage: ``python -m mobile_contracts.compat OLD.json NEW.json`` (exit status 1 when anything breaks).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

Schema = dict[str, Any]
_Stack = set[tuple[frozenset[int], ...]]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_JSON_MEDIA = ("application/json", "application/problem+json")
_COMPOSE = ("oneOf", "anyOf", "allOf")
_TYPED = ("$ref", "type", "enum", "const", "properties", "items", *_COMPOSE)
_STRUCT = ("properties", "items", "additionalProperties", "required")
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
_OWN = ("type", "enum", "const", "properties", "items", "additionalProperties")


class Change(msgspec.Struct, frozen=True):
    """One breaking change: a stable machine code, a human location and an explanation."""

    kind: str
    where: str
    detail: str


def _deref(doc: Schema, obj: Any) -> Schema:
    """Follow local `$ref` pointers (cycles and unresolvable refs stop at the last dict)."""
    seen: set[str] = set()
    while isinstance(obj, dict) and isinstance(obj.get("$ref"), str):
        ref: str = obj["$ref"]
        if ref in seen or not ref.startswith("#/"):
            break
        seen.add(ref)
        target: Any = doc
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            break
        obj = target
    return obj if isinstance(obj, dict) else {}


def _flatten(doc: Schema, schemas: Iterable[Any]) -> list[Schema]:
    """Resolve refs and expand oneOf/anyOf/allOf into every schema node that applies."""
    out: list[Schema] = []
    seen: set[int] = set()
    todo = list(schemas)
    while todo:
        node = _deref(doc, todo.pop(0))
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        for key in _COMPOSE:
            for member in node.get(key) or []:
                # allOf members that only annotate (description, title) constrain nothing.
                if key != "allOf" or (
                    isinstance(member, dict) and any(k in member for k in _TYPED)
                ):
                    todo.append(member)
    return out


def _values(node: Schema) -> list[Any]:
    return [node["const"]] if "const" in node else list(node.get("enum") or [])


def _is_wrapper(node: Schema) -> bool:
    return any(k in node for k in _COMPOSE) and not any(k in node for k in _OWN)


def _types(nodes: list[Schema]) -> frozenset[str] | None:
    """Normalized set of JSON types the nodes allow; None means anything."""
    out: set[str] = set()
    for node in nodes:
        declared = node.get("type")
        if isinstance(declared, str):
            out.add(declared)
        elif isinstance(declared, list):
            out.update(str(t) for t in declared)
        elif "properties" in node or "additionalProperties" in node:
            out.add("object")
        elif "items" in node:
            out.add("array")
        elif "enum" in node or "const" in node:
            out.update(
                _JSON_TYPES.get(type(v), "null" if v is None else "object") for v in _values(node)
            )
        elif not _is_wrapper(node):
            return None
        if node.get("nullable") is True:
            out.add("null")
    return frozenset(out)


def _enum(nodes: list[Schema]) -> frozenset[str] | None:
    """JSON-encoded values the nodes are restricted to; None means no enum restriction."""
    values: set[str] = set()
    for node in nodes:
        if "enum" in node or "const" in node:
            values.update(json.dumps(v, sort_keys=True) for v in _values(node))
        elif not _is_wrapper(node) and _types([node]) != frozenset({"null"}):
            return None
    return frozenset(values) or None


def _covers(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
    if wide is None or narrow is None:
        return wide is None
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _fmt(values: frozenset[str] | None) -> str:
    return "any" if values is None else "|".join(sorted(values)) or "nothing"


def _json_body(doc: Schema, holder: Any) -> list[Any]:
    content = _deref(doc, holder).get("content") or {}
    for media in _JSON_MEDIA:
        if isinstance(content.get(media), dict) and "schema" in content[media]:
            return [content[media]["schema"]]
    return []


def _norm_path(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


class _Diff:
    def __init__(self, old: Schema, new: Schema) -> None:
        self.old, self.new = old, new
        self.out: list[Change] = []

    def add(self, kind: str, where: str, detail: str) -> None:
        self.out.append(Change(kind, where, detail))

    def walk(
        self, olds: list[Any], news: list[Any], where: str, path: str, response: bool, stack: _Stack
    ) -> None:
        old_n, new_n = _flatten(self.old, olds), _flatten(self.new, news)
        loc = f"{where} {path}".rstrip()
        ot, nt = _types(old_n), _types(new_n)
        if not _covers(*((ot, nt) if response else (nt, ot))):
            self.add("type.changed", loc, f"type {_fmt(ot)} -> {_fmt(nt)}")
        if ot and nt and ot.isdisjoint(nt):
            return  # nothing in common: comparing enums or fields would only add noise
        oe, ne = _enum(old_n), _enum(new_n)
        if response and not _covers(oe, ne):
            gained = "any value" if ne is None else _fmt(ne - (oe or frozenset()))
            self.add("enum.widened", loc, f"may now return {gained}")
        elif not response and not _covers(ne, oe):
            lost = "values outside it" if oe is None else _fmt(oe - (ne or frozenset()))
            self.add("enum.narrowed", loc, f"restricted to {_fmt(ne)}; rejects {lost}")
        # Identity of the nodes with children: a recursive schema repeats one further up the stack.
        key = tuple(
            frozenset(id(n) for n in ns if any(k in n for k in _STRUCT)) for ns in (old_n, new_n)
        )
        if key in stack:
            return
        if not response:
            for name in sorted(self._required(new_n) - self._required(old_n)):
                self.add("request.required_added", f"{where} {path}.{name}", "new required field")
        stack.add(key)
        old_p, new_p = self._props(old_n), self._props(new_n)
        for name, subs in old_p.items():
            if name in new_p:
                self.walk(subs, new_p[name], where, f"{path}.{name}", response, stack)
            elif response:
                self.add("response.field_removed", f"{where} {path}.{name}", "field removed")
        for child, suffix in (("items", "[*]"), ("additionalProperties", ".*")):
            o_sub = [n[child] for n in old_n if isinstance(n.get(child), dict)]
            n_sub = [n[child] for n in new_n if isinstance(n.get(child), dict)]
            if o_sub and n_sub:
                self.walk(o_sub, n_sub, where, path + suffix, response, stack)
        stack.discard(key)

    @staticmethod
    def _props(nodes: list[Schema]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for node in nodes:
            for name, sub in (node.get("properties") or {}).items():
                out.setdefault(name, []).append(sub)
        return out

    @staticmethod
    def _required(nodes: list[Schema]) -> set[str]:
        lists = [n["required"] for n in nodes if isinstance(n.get("required"), list)]
        return {str(name) for names in lists for name in names}

    @staticmethod
    def params(doc: Schema, path: str, item: Schema, op: Schema) -> dict[tuple[str, str], Schema]:
        names = re.findall(r"\{([^}]*)\}", path)
        out: dict[tuple[str, str], Schema] = {}
        for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
            param = _deref(doc, raw)
            where, name = str(param.get("in")), str(param.get("name"))
            # Path parameters are matched by position: renaming `{id}` does not change the URL.
            if where == "path" and name in names:
                name = str(names.index(name))
            out[(where, name.lower() if where == "header" else name)] = param
        return out

    def operation(
        self, where: str, method: str, paths: tuple[str, str], items: tuple[Schema, Schema]
    ) -> None:
        ops = (items[0][method], items[1][method])
        old_params = self.params(self.old, paths[0], items[0], ops[0])
        for key, param in self.params(self.new, paths[1], items[1], ops[1]).items():
            label = f"{where} {param.get('in')} {param.get('name')}"
            before = old_params.get(key)
            if param.get("required") and not (before and before.get("required")):
                self.add("request.required_added", label, "new required parameter")
            if before is not None and "schema" in before and "schema" in param:
                self.walk([before["schema"]], [param["schema"]], label, "", False, set())
        old_body = _deref(self.old, ops[0].get("requestBody"))
        new_body = _deref(self.new, ops[1].get("requestBody"))
        if new_body.get("required") and not old_body.get("required"):
            self.add("request.required_added", f"{where} request body", "request body now required")
        old_schema, new_schema = _json_body(self.old, old_body), _json_body(self.new, new_body)
        if old_schema and new_schema:
            self.walk(old_schema, new_schema, f"{where} request", "$", False, set())
        new_responses = ops[1].get("responses") or {}
        for status, response in (ops[0].get("responses") or {}).items():
            if not str(status).startswith("2"):
                continue
            if status not in new_responses and "2XX" not in new_responses:
                self.add("response.status_removed", f"{where} response {status}", "status removed")
                continue
            old_schema = _json_body(self.old, response)
            new_schema = _json_body(self.new, new_responses.get(status, new_responses.get("2XX")))
            if old_schema:
                self.walk(old_schema, new_schema, f"{where} response {status}", "$", True, set())


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """List the changes from `old` to `new` that can break apps built against `old`."""
    diff = _Diff(old, new)
    new_paths = {_norm_path(p): (p, item) for p, item in (new.get("paths") or {}).items()}
    for path, raw_item in (old.get("paths") or {}).items():
        if _norm_path(path) not in new_paths:
            diff.add("path.removed", path, "path removed")
            continue
        new_path, raw_new = new_paths[_norm_path(path)]
        old_item, new_item = _deref(old, raw_item), _deref(new, raw_new)
        for method in _METHODS:
            if not isinstance(old_item.get(method), dict):
                continue
            where = f"{method.upper()} {path}"
            if not isinstance(new_item.get(method), dict):
                diff.add("operation.removed", where, "operation removed")
                continue
            diff.operation(where, method, (path, new_path), (old_item, new_item))
    return diff.out


def main(argv: list[str] | None = None) -> int:
    """Print the breaking changes between two OpenAPI JSON files; exit status 1 if any."""
    parser = argparse.ArgumentParser(prog="python -m mobile_contracts.compat", description=__doc__)
    parser.add_argument("old", help="last released OpenAPI document (JSON)")
    parser.add_argument("new", help="current OpenAPI document (JSON)")
    args = parser.parse_args(argv)
    old, new = (json.loads(Path(name).read_text(encoding="utf-8")) for name in (args.old, args.new))
    changes = breaking_changes(old, new)
    for change in changes:
        sys.stdout.write(f"{change.kind}: {change.where}: {change.detail}\n")
    return 1 if changes else 0


if __name__ == "__main__":
    raise SystemExit(main())
