"""Reading a refused console form: the message beside the field at fault, and what was typed.

A console form that refuses a field shows the form again with the message in a
`<p class="field-error" id="…">` inside the field's own `.field` block, after the control; the
control says it is invalid (`aria-invalid="true"`) and names the message (`aria-describedby`).
The message is not in the flash or alert banners at the top of the page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}  # fmt: skip


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def walk(self) -> list[Element]:
        found = [self]
        for child in self.children:
            if isinstance(child, Element):
                found.extend(child.walk())
        return found

    def contains(self, other: Element) -> bool:
        node: Element | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.open)
        self.open.children.append(element)
        if tag not in _VOID:
            self.open = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.children.append(Element(tag, {k: v or "" for k, v in attrs}, parent=self.open))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.open
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.open = node.parent

    def handle_data(self, data: str) -> None:
        self.open.children.append(data)


def parse(html: str) -> Element:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def by_id(root: Element, element_id: str) -> Element:
    found = [e for e in root.walk() if e.attrs.get("id") == element_id]
    assert len(found) == 1, f"{len(found)} elements with id={element_id!r}"
    return found[0]


def banners(html: str) -> str:
    """The text of the page's flashes and alerts (the banners above the content)."""
    root = parse(html)
    shown = [e.text() for e in root.walk() if {"flash", "alert", "flashes"} & set(e.classes)]
    return " ".join(shown)


def field_error(html: str, control_id: str) -> str:
    """The message beside the control `control_id` (asserting how it is shown); its text."""
    root = parse(html)
    control = by_id(root, control_id)
    assert control.attrs.get("aria-invalid") == "true", control.attrs
    described = control.attrs.get("aria-describedby", "").split()
    messages = [
        e for e in root.walk() if e.attrs.get("id") in described and "field-error" in e.classes
    ]
    assert len(messages) == 1, f"{control_id}: aria-describedby={described}"
    message = messages[0]
    assert "hidden" not in message.attrs
    block = control.parent
    while block is not None and "field" not in block.classes:
        block = block.parent
    assert block is not None, f"{control_id} is in no .field"
    assert block.contains(message), f"the message of {control_id} is not in its .field"
    order = block.walk()
    assert order.index(control) < order.index(message), "the message comes before the field"
    text = message.text()
    assert text, f"{control_id}: an empty message"
    assert text not in banners(html), f"{text!r} is in a banner too"
    return text


def valid(html: str, control_id: str) -> bool:
    """Whether the control `control_id` is shown without a refusal."""
    return by_id(parse(html), control_id).attrs.get("aria-invalid") != "true"


def value_of(html: str, control_id: str) -> str | None:
    """What the control `control_id` holds as the page shows it: an input's value, a
    textarea's text, a select's selected option (None: no option is selected)."""
    control = by_id(parse(html), control_id)
    if control.tag == "textarea":
        return "".join(c for c in control.children if isinstance(c, str)).removeprefix("\n")
    if control.tag == "select":
        chosen = [e for e in control.walk() if e.tag == "option" and "selected" in e.attrs]
        return chosen[0].attrs.get("value", chosen[0].text()) if chosen else None
    return control.attrs.get("value")
