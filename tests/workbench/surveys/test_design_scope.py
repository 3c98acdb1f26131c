"""Who designs surveys and who sees which: authors all of their subtree's, branch heads the
published ones, RMs the published customer surveys they may send; the rest do not exist."""

from __future__ import annotations

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.design_data import (
    SURVEYS,
    VISIT_QUESTIONS,
    as_answered,
    draft,
    published,
    question,
    survey_body,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_only_admin_and_marketing_design_surveys(client):
    for who in ("rm01", "bh.east", "compliance"):
        headers = await headers_of(client, who)
        response = await client.post(SURVEYS, json=survey_body(), headers=headers)
        assert response.status_code == 403, who
    admin = await headers_of(client, "admin")
    assert (await client.post(SURVEYS, json=survey_body(), headers=admin)).status_code == 201


async def test_each_role_sees_its_surveys_and_no_other(client):
    marketing = await headers_of(client, "marketing")
    customer = await published(client, marketing, title="客户回访")
    staff = await published(client, marketing, title="员工脉搏", audience="staff")
    pending = await draft(client, marketing, title="草稿问卷")
    archived = await published(client, marketing, title="旧问卷")
    await client.post(f"{SURVEYS}/{archived['id']}/archive", headers=marketing)

    async def titles(who: str, query: str = "") -> list[str]:
        response = await client.get(f"{SURVEYS}{query}", headers=await headers_of(client, who))
        assert response.status_code == 200, response.text
        return [row["title"] for row in response.json()["items"]]

    assert await titles("marketing") == ["旧问卷", "草稿问卷", "员工脉搏", "客户回访"]
    assert await titles("admin", "?status=draft") == ["草稿问卷"]
    assert await titles("marketing", "?audience=staff") == ["员工脉搏"]
    assert await titles("bh.east") == ["员工脉搏", "客户回访"]
    assert await titles("rm01") == ["客户回访"]
    assert await titles("rm01", "?status=draft") == []

    rm = await headers_of(client, "rm01")
    # An edit of the draft is not what RMs send: they see the published version.
    edit = {"title": "客户回访（修改中）", "questions": [question("only", "text")]}
    marketing = await headers_of(client, "marketing")  # signed in again by titles()
    response = await client.patch(f"{SURVEYS}/{customer['id']}", json=edit, headers=marketing)
    assert response.status_code == 200, response.text
    seen = (await client.get(f"{SURVEYS}/{customer['id']}", headers=rm)).json()
    assert (seen["title"], seen["questions"]) == ("客户回访", as_answered(VISIT_QUESTIONS))
    assert (seen["flaws"], seen["draft_changed"]) == ([], False)
    assert await titles("rm01") == ["客户回访"]  # the published title in the list too
    rm = await headers_of(client, "rm01")  # signed in again by titles()
    mine = (await client.get(f"{SURVEYS}/{customer['id']}", headers=marketing)).json()
    assert (mine["title"], mine["draft_changed"]) == ("客户回访（修改中）", True)
    version = await client.get(f"{SURVEYS}/{customer['id']}/versions/1", headers=rm)
    assert version.status_code == 200
    for hidden in (pending, staff, archived):
        response = await client.get(f"{SURVEYS}/{hidden['id']}", headers=rm)
        assert (response.status_code, response.json()["code"]) == (404, "survey.not_found")
        response = await client.get(f"{SURVEYS}/{hidden['id']}/versions/1", headers=rm)
        assert response.status_code == 404
    assert await titles("bh.east", "?status=archived") == ["旧问卷"]  # its results still count
    bh = await headers_of(client, "bh.east")
    assert (await client.get(f"{SURVEYS}/{pending['id']}", headers=bh)).status_code == 404
    assert (await client.get(f"{SURVEYS}/{archived['id']}", headers=bh)).status_code == 200
    # Seeing a survey is not changing it.
    response = await client.patch(f"{SURVEYS}/{customer['id']}", json={"title": "x"}, headers=bh)
    assert response.status_code == 403


async def test_the_list_comes_in_pages(client):
    marketing = await headers_of(client, "marketing")
    for n in range(3):
        await draft(client, marketing, title=f"问卷 {n}")
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = (await client.get(f"{SURVEYS}{query}", headers=marketing)).json()
        seen += [row["title"] for row in page["items"]]
        assert all(row["question_count"] == 5 for row in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["问卷 2", "问卷 1", "问卷 0"]
    bad = await client.get(f"{SURVEYS}?cursor=nonsense", headers=marketing)
    assert bad.status_code == 400
