"""Small, self-contained zh-CN mobile pages (no scripts, no external assets)."""

from __future__ import annotations

import secrets
from html import escape

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
<title>{title}</title>
<style>
body{{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;
background:#f5f6f8;color:#222}}
main{{max-width:28rem;margin:0 auto;padding:1.5rem 1.25rem}}
h1{{font-size:1.3rem;margin:.5rem 0 1rem}}
.card{{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px #0001}}
label{{display:block;margin:.9rem 0 .3rem;font-size:.95rem}}
input{{width:100%;box-sizing:border-box;font-size:1rem;padding:.7rem;border:1px solid #ccd;
border-radius:8px}}
button{{width:100%;margin-top:1.4rem;padding:.85rem;font-size:1.05rem;border:0;
border-radius:8px;background:#c8102e;color:#fff}}
.note{{color:#666;font-size:.85rem;margin-top:1rem}}
.error{{color:#c8102e;margin:.5rem 0}}
</style>
</head>
<body><main><h1>{title}</h1><div class="card">{body}</div></main></body>
</html>"""


def page(
    title: str, body_html: str, *, status: int = 200, script: str | None = None
) -> Response[str]:
    """A complete page; `body_html` must already be escaped where it holds user input.
    `script` (our own code, never user input) runs under a one-time CSP nonce."""
    headers = dict(SECURITY_HEADERS)
    if script is not None:
        nonce = secrets.token_urlsafe(16)
        headers["Content-Security-Policy"] += f"; script-src 'nonce-{nonce}'"
        body_html += f'<script nonce="{nonce}">{script}</script>'
    return Response(
        _PAGE.format(title=escape(title), body=body_html),
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers,
    )


def message(title: str, text: str, *, status: int) -> Response[str]:
    return page(title, f"<p>{escape(text)}</p>", status=status)
