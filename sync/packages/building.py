"""The H5 package the server builds from its own customer pages (`workbench build-package h5`).

The customer pages are rendered by the server per link (share viewer, QR confirmation,
verification, survey); offline, the app opens their static shells, which it fills from its own
synced data. The package holds those shells, rendered from the same code and templates as the
live pages (bank name in the header, the same styles), and the public static files
(workbench/public/static) they load, under `static/` with relative links.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from pathlib import Path

import jinja2

from sync.packages.archive import PackageFile
from workbench.public import survey_page
from workbench.public.pages import page
from workbench.tracking.viewer import Shown, render

OFFLINE_NOTE = "离线页面：连接网络后将显示最新内容。"


def h5_files(bank: str) -> list[PackageFile]:
    """Every file of the server-built H5 package, sorted by path."""
    shells: dict[str, str] = {
        "share/viewer.html": _viewer_shell(bank),
        "confirm/index.html": _page_shell("拜访确认", bank),
        "verify/index.html": _page_shell("实名认证", bank),
        **_survey_shells(bank),
    }
    shells["index.html"] = _index(bank, shells)
    files = [_file(path, text.encode("utf-8")) for path, text in shells.items()]
    files.extend(_file(f"static/{p.name}", p.read_bytes()) for p in _static_files())
    return sorted(files, key=lambda f: f.path)


def _file(path: str, data: bytes) -> PackageFile:
    return PackageFile(path=path, data=data, sha256=hashlib.sha256(data).hexdigest())


def _static_files() -> Iterable[Path]:
    return sorted(p for p in survey_page.STATIC.iterdir() if p.is_file())


def _body(response: object) -> str:
    content = getattr(response, "content", "")
    return content.decode("utf-8") if isinstance(content, bytes) else str(content)


def _viewer_shell(bank: str) -> str:
    shown = Shown(code="", title="产品资料", product_name="—", risk_level=0, rm_name="—", pages=[])
    return _body(render(shown, bank=bank, base_url="", fixed_for_package=True))


def _page_shell(title: str, bank: str) -> str:
    return _body(page(title, f'<p class="note">{html.escape(OFFLINE_NOTE)}</p>', bank=bank))


def _survey_shells(bank: str) -> dict[str, str]:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(survey_page.HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: f"../static/{name}"
    form = env.get_template("survey_form.html").render(
        title="问卷",
        rm_name="",
        questions=[],
        errors={},
        valid_until="有效期以链接为准",
        bank=bank,
    )
    message = env.get_template("survey_message.html").render(
        title="问卷", text=OFFLINE_NOTE, bank=bank, mark="i", tone=""
    )
    return {"survey/form.html": form, "survey/message.html": message}


def _index(bank: str, shells: dict[str, str]) -> str:
    links = "".join(
        f'<li><a href="{html.escape(path)}">{html.escape(path)}</a></li>' for path in sorted(shells)
    )
    return _body(page("离线页面", f"<ul>{links}</ul>", bank=bank))
