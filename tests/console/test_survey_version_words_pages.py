"""What the survey pages say to whom: a staff survey's preview is the page staff see (员工看到的页
面), a customer survey's the customers'; question keys and option values (mood, voice, slow) are
for designers, not for branch heads reading a version; every survey page leads back with the same
words (返回问卷列表)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.conftest import signed_in
from tests.console.test_pages import console_page
from tests.console.test_survey_results_browser import demo_surveys  # noqa: F401
from workbench.surveys.demo import PULSE_SURVEY, demo_nps_survey_id

pytestmark = pytest.mark.usefixtures("demo_surveys")
LIST = "/console/surveys"
_CODES = re.compile(r'<span class="code"[^>]*>([^<]*)</span>')
_BACK = re.compile(
    r'<div class="page-actions">.*?href="/console/surveys">.*?<span>([^<]*)</span>', re.S
)


def preview_title(html: str) -> str:
    found = re.search(r'id="preview-title">.*?</svg>([^<]*)</h2>', html, re.S)
    assert found is not None
    return found.group(1).strip()


async def version_page(console: Any, db: Any, survey_id: Any) -> str:
    version = await db.fetchval("select version from surveys where id = $1", survey_id)
    return console_page(await console.get(f"{LIST}/{survey_id}/versions/{version}"), 200)


async def test_a_branch_head_reads_a_staff_survey_as_staff_see_it_without_its_keys(
    console: Any, db: Any
) -> None:
    await signed_in(console, "bh.east")
    pulse = await version_page(console, db, PULSE_SURVEY)
    assert preview_title(pulse) == "员工看到的页面"
    assert "客户看到的页面" not in pulse
    assert 'aria-label="员工看到的页面（预览）"' in pulse
    assert "感谢您抽出时间" not in pulse  # the customers' greeting
    assert _CODES.findall(pulse) == []  # neither mood nor voice
    assert ">mood<" not in pulse
    assert ">voice<" not in pulse

    nps = await version_page(console, db, demo_nps_survey_id())
    assert preview_title(nps) == "客户看到的页面"
    assert _CODES.findall(nps) == []  # no score, speed, fast, slow...
    assert "较慢" in nps  # the options by their labels


async def test_designers_see_the_keys_and_the_staff_preview_on_the_edit_page(
    console: Any, db: Any
) -> None:
    await signed_in(console, "marketing")
    version = await version_page(console, db, PULSE_SURVEY)
    assert {"mood", "voice"} <= set(_CODES.findall(version))
    edit = console_page(await console.get(f"{LIST}/{PULSE_SURVEY}/edit"), 200)
    assert preview_title(edit) == "员工看到的页面"
    assert "条件题在员工的页面上按答案显示或隐藏" in edit
    customer = console_page(await console.get(f"{LIST}/{demo_nps_survey_id()}/edit"), 200)
    assert preview_title(customer) == "客户看到的页面"


async def test_every_survey_page_leads_back_to_the_list_in_the_same_words(
    console: Any, db: Any
) -> None:
    await signed_in(console, "admin")
    pages = [f"{LIST}/new", f"{LIST}/{PULSE_SURVEY}/edit", f"{LIST}/{demo_nps_survey_id()}/send"]
    backs = [_BACK.findall(console_page(await console.get(path), 200)) for path in pages]
    backs.append(_BACK.findall(await version_page(console, db, PULSE_SURVEY)))
    assert backs == [["返回问卷列表"]] * 4
