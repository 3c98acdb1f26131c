"""The customer pages' frame: the bank's name on every page, and the 503 page for outages."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient

from workbench.public.pages import message, unavailable_page


def _serve(*pages: Callable[[], Response[str]]) -> TestClient[Litestar]:
    """A bare app with no database, Redis or settings behind it: the pages need none.
    Page n answers at /p{n}."""

    def route(n: int, make: Callable[[], Response[str]]) -> HTTPRouteHandler:
        def handler() -> Response[str]:
            return make()

        return get(f"/p{n}", name=f"p{n}", sync_to_thread=False)(handler)

    return TestClient(Litestar(route_handlers=[route(n, make) for n, make in enumerate(pages)]))


def test_unavailable_page_asks_to_come_back_later_without_a_database():
    bank = "长江商业银行"
    with _serve(
        lambda: unavailable_page(bank), lambda: unavailable_page(bank, retry_after=120)
    ) as c:
        first, second = c.get("/p0"), c.get("/p1")
    assert first.status_code == second.status_code == 503
    assert first.headers["retry-after"] == "30"
    assert second.headers["retry-after"] == "120"
    assert first.headers["content-type"].startswith("text/html")
    assert first.headers["cache-control"] == "no-store"  # never cached as the answer
    assert "default-src 'none'" in first.headers["content-security-policy"]
    html = first.text
    assert 'lang="zh-CN"' in html
    assert "服务暂时不可用" in html
    assert "请稍后再试" in html
    assert '<header><div class="bank">长江商业银行</div></header>' in html
    assert "<form" not in html
    assert "<script" not in html


def test_the_bank_name_is_escaped_and_an_empty_one_leaves_no_header():
    named_page = lambda: message("链接无效", "x", bank="<b>&银行</b>", status=404)  # noqa: E731
    with _serve(named_page, lambda: unavailable_page("")) as c:
        named, unnamed = c.get("/p0"), c.get("/p1")
    assert "<b>" not in named.text
    assert "&lt;b&gt;&amp;银行&lt;/b&gt;" in named.text
    assert "<header>" not in unnamed.text
    assert "<title>服务暂时不可用</title>" in unnamed.text
