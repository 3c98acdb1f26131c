"""Small, self-contained zh-CN mobile pages (no external assets; a script only under a nonce).

Every page names the bank in its header (`WORKBENCH_BANK_NAME`), so that a customer who opens a
link from a chat knows who is asking before typing anything."""

from __future__ import annotations

import secrets
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from litestar import Response
from litestar.enums import MediaType

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",  # the URL carries the token: never leak it onwards
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}{title_bank}</title>
<style>
body{{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;
background:#f5f6f8;color:#222;overflow-wrap:anywhere}}
header{{background:#c8102e;color:#fff;font-size:1.05rem;font-weight:600;letter-spacing:.05em;
padding:.8rem 1.25rem}}
header div{{max-width:28rem;margin:0 auto}}
main{{max-width:28rem;margin:0 auto;padding:1.25rem 1.25rem 1.5rem}}
h1{{font-size:1.3rem;margin:.25rem 0 1rem}}
.who{{color:#444;margin:0 0 1rem;font-size:.95rem}}
.card{{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px #0001}}
label{{display:block;margin:.9rem 0 .3rem;font-size:.95rem}}
input{{width:100%;box-sizing:border-box;font-size:1rem;padding:.7rem;border:1px solid #ccd;
border-radius:8px}}
button{{width:100%;margin-top:1.4rem;padding:.85rem;font-size:1.05rem;border:0;
border-radius:8px;background:#c8102e;color:#fff}}
.check{{display:flex;align-items:center;gap:.5rem;margin:1rem 0 .2rem;min-height:2.75rem}}
.check input{{width:1.25rem;height:1.25rem;margin:0;flex:none;accent-color:#c8102e}}
.locate .note{{margin-top:0}}
.state{{display:block;color:#1a7f37}}
.note{{color:#666;font-size:.85rem;margin-top:1rem}}
.more a{{color:#a30d25}}
.error{{color:#c8102e;margin:.5rem 0}}
</style>
</head>
<body>{header}<main><h1>{title}</h1>{who}<div class="card">{body}</div></main></body>
</html>"""


def page(
    title: str,
    body_html: str,
    *,
    bank: str,
    rm_name: str | None = None,
    status: int = 200,
    script: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """A complete page under the bank's name; `body_html` must already be escaped where it holds
    user input. `rm_name` names the RM who sent the link, above the card. `script` (our own code,
    never user input) runs under a one-time CSP nonce."""
    all_headers = dict(SECURITY_HEADERS) | (headers or {})
    if script is not None:
        nonce = secrets.token_urlsafe(16)
        all_headers["Content-Security-Policy"] += f"; script-src 'nonce-{nonce}'"
        body_html += f'<script nonce="{nonce}">{script}</script>'
    bank = bank.strip()
    return Response(
        _PAGE.format(
            title=escape(title),
            title_bank=f" - {escape(bank)}" if bank else "",
            header=f'<header><div class="bank">{escape(bank)}</div></header>' if bank else "",
            who=f'<p class="who">您的客户经理：{escape(rm_name)}</p>' if rm_name else "",
            body=body_html,
        ),
        status_code=status,
        media_type=MediaType.HTML,
        headers=all_headers,
    )


def valid_until(expires_at: datetime, timezone: str) -> str:
    """When a link stops working, in the bank's time zone, to the minute: "有效期至2027年1月4日
    18:12". Not "2027年1月4日前有效": read on the 4th, that says it has expired already."""
    local = expires_at.astimezone(ZoneInfo(timezone))
    return f"有效期至{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def message(
    title: str,
    text: str,
    *,
    bank: str,
    status: int,
    headers: dict[str, str] | None = None,
    link: tuple[str, str] | None = None,
) -> Response[str]:
    """A page that says one thing; `link`: (a path of this site, its words) under it."""
    more = f'<p class="more"><a href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return page(title, f"<p>{escape(text)}</p>{more}", bank=bank, status=status, headers=headers)


def not_found_page(bank: str) -> Response[str]:
    """404 for a customer's link that leads nowhere (an unknown code, a link cut short)."""
    return message("链接无效", "该链接无效或不完整，请向您的客户经理索取新的链接。", bank=bank,
                   status=404)  # fmt: skip


UNAVAILABLE_RETRY_AFTER = 30  # seconds


def unavailable_page(bank: str, *, retry_after: int = UNAVAILABLE_RETRY_AFTER) -> Response[str]:
    """503 for a customer page while the service cannot answer it (the database is down, ...).
    Needs nothing but the bank's name, so it can be served when everything else is failing.
    `Retry-After` says when trying again makes sense; nothing was used up, so opening the same
    link again later works."""
    return message(
        "服务暂时不可用",
        "服务暂时不可用，请稍后再试（稍后重新打开此链接即可）。",
        bank=bank,
        status=503,
        headers={"Retry-After": str(max(int(retry_after), 1))},
    )
