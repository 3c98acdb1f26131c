"""The demo brochures' pages carry the risk note of their product's category, as the share page
under them does: a customer never reads two different notes on one screen."""

from __future__ import annotations

from typing import Any

from PIL import ImageDraw

from workbench.brochures import artwork, demo

DEPOSIT = {"name": "大额存单", "category": "deposit", "risk_level": 1}
INSURANCE = {"name": "终身寿险", "category": "insurance", "risk_level": 2}
WEALTH = {"name": "稳享90天", "category": "wealth", "risk_level": 2}


def drawn_text(sheet: artwork.Sheet, monkeypatch: Any) -> str:
    words: list[str] = []
    text = ImageDraw.ImageDraw.text

    def recorded(self: Any, xy: Any, what: str, *args: Any, **kwargs: Any) -> Any:
        words.append(what)
        return text(self, xy, what, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recorded)
    artwork.pages(sheet, count=1)
    return "".join(words)


def test_each_demo_page_says_its_own_category_s_risk_note(monkeypatch):
    brochure = demo.BROCHURES[0]
    deposit = drawn_text(demo.sheet_for(brochure, DEPOSIT, bank="示例银行", palette=0), monkeypatch)
    assert "存款保险条例" in deposit
    assert "理财非存款" not in deposit
    insurance = drawn_text(
        demo.sheet_for(brochure, INSURANCE, bank="示例银行", palette=1), monkeypatch
    )
    assert "保险合同" in insurance
    assert "理财非存款" not in insurance
    wealth = drawn_text(demo.sheet_for(brochure, WEALTH, bank="示例银行", palette=2), monkeypatch)
    assert "理财非存款" in wealth
    assert "不构成要约" in wealth  # the material's own disclaimer stays on every page
