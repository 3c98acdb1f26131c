"""A survey's responses as a spreadsheet: one row per response with its answers, CSV (UTF-8 with
a BOM, so spreadsheet programs read the Chinese) or XLSX (XlsxWriter in constant-memory mode).

Same scope and period as the results. The rows are read through a cursor on a connection of
their own (the request's transaction ends before the body is sent) and written as they come:
CSV is streamed chunk by chunk; XLSX is written row by row to a temporary file (a zip can only
be finished at the end), then streamed from it and deleted.

A staff survey's export holds no row per response (its time and answers together could say who
answered, and two exports could be subtracted row by row): it holds the figures its results
page shows, one per line (FIGURES: the scope's counts, NPS and CSAT, each unit row's, the
remainder's, every question's distribution and the top words), withheld where the page
withholds them (only exported once the survey is closed and when the scope's answers are
shown; the route checks: `results.require_group`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter

from mobile_contracts.v1 import survey_results as wire
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.db import Pool
from workbench.security.vault import FieldCipher
from workbench.surveys import results
from workbench.surveys.rollups import queries

CHUNK_ROWS = 500
FILE_CHUNK = 256 * 1024
FIXED = ("回复编号", "发送日期", "提交时间", "机构", "答题人")


# A staff survey's export: a figure per line (部分: 总体, 按机构, 其他, 分布, 常见词).
FIGURES = ("部分", "机构", "题目", "项目", "数值")
NOT_SHOWN = f"不足 {results.MIN_STAFF_GROUP} 份或会被推算，不显示"


def header(questions: Sequence[Question]) -> list[str]:
    return [*FIXED, *(f"{q.key} {q.text}" for q in questions)]


def header_of(target: results.Target) -> list[str]:
    """The export's header: a staff survey's figures (FIGURES), else a response's columns."""
    return list(FIGURES) if target.staff else header(target.questions)


def filename(target: results.Target, ext: str) -> str:
    period = target.period
    last = period.end_day.toordinal() - 1
    return f"survey-{target.survey_id}-{period.first_day:%Y%m%d}-{_day(last)}.{ext}"


def _day(ordinal: int) -> str:
    return datetime.fromordinal(ordinal).strftime("%Y%m%d")


def _csv_cell(value: Any) -> Any:
    """A value as a CSV cell: text that a spreadsheet program would run as a formula is quoted
    (an apostrophe first). XLSX needs no such guard: its text cells are text, never formulas,
    so they hold the text as typed."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


def _answer(
    question: Question, value: Any, text: str | None, older: Mapping[str, str] | None = None
) -> Any:
    """A response's answer as a cell: choices by their labels, those of options a later version
    dropped by the label they were asked with (`older`: `results.Target.labels`)."""
    if question.type is QuestionType.TEXT:
        return text or ""
    if value is None:
        return ""
    labels = {**(older or {}), **{o.value: o.label for o in question.options}}
    if isinstance(value, list):
        return "、".join(str(labels.get(v, v)) for v in value)
    if question.type in (QuestionType.NPS, QuestionType.RATING):
        return value
    return labels.get(value, str(value))


def _answers(
    target: results.Target, answers: Mapping[str, Any], texts: Mapping[str, str]
) -> list[Any]:
    return [
        _answer(q, answers.get(q.key), texts.get(q.key), target.labels.get(q.key))
        for q in target.questions
    ]


async def rows(
    pool: Pool, target: results.Target, *, cipher: FieldCipher, role: Role, tz: str
) -> AsyncIterator[list[Any]]:
    """Every response of the target as a row of cells (header order): text as it is (the CSV
    writer guards formula-looking text, see `_csv_cell`), scores as numbers."""
    if target.staff:
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            found = await results.results(conn, target=target,
                                          group_by=wire.ResultsGroupBy.ORG_UNIT)  # fmt: skip
        for cells in figures(found, scope=target.root["name"]):
            yield cells
        return
    zone = ZoneInfo(tz)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in queries.export_rows(
            conn, target.scope, start=target.period.start, end=target.period.end
        ):
            texts = results.open_texts(cipher, row["id"], row["texts_enc"])
            answers = row["answers"] or {}
            yield [
                str(row["id"]),
                row["day"].isoformat(),
                row["submitted_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                row["org_unit_name"],
                results.respondent(cipher, role, row),
                *_answers(target, answers, texts),
            ]


def figures(found: wire.SurveyResults, *, scope: str) -> list[list[Any]]:
    """A staff survey's results as lines of FIGURES, as its page shows them: nothing of a
    scope or row withheld but its counts."""
    lines: list[list[Any]] = []
    asked = {question.type for question in found.questions}

    def headline(part: str, unit: str, head: wire.Headline) -> None:
        lines.append([part, unit, "", "发出邀请", head.delivered])
        lines.append([part, unit, "", "已回复", head.responded])
        lines.append([part, unit, "", "回复率", head.response_rate])
        if QuestionType.NPS in asked:
            lines.append([part, unit, "", "NPS", _score(head, head.nps)])
        if QuestionType.RATING in asked:
            lines.append([part, unit, "", "CSAT", _score(head, head.csat)])

    headline("总体", scope, found)
    for row in found.by_unit or []:
        headline("按机构", row.name, row)
    if found.other is not None:
        headline("其他", found.other.name, found.other)
    if found.withheld:
        return lines
    for question in found.questions:
        title = f"{question.key} {question.text}"
        lines.append(["分布", scope, title, "作答人数", question.answered])
        for value in question.distribution:
            lines.append(["分布", scope, title, value.label, value.count])
        for term in question.top_terms:
            lines.append(["常见词", scope, title, term.term, term.count])
    for term in found.top_terms:
        lines.append(["常见词", scope, "全部文字回答", term.term, term.count])
    return lines


def _score(head: wire.Headline, value: float | None) -> Any:
    """An NPS or CSAT cell: NOT_SHOWN when withheld, empty without answers."""
    if head.withheld:
        return NOT_SHOWN
    return "" if value is None else value


async def csv_chunks(
    pool: Pool, target: results.Target, *, cipher: FieldCipher, role: Role, tz: str
) -> AsyncIterator[bytes]:
    """The CSV file in chunks of CHUNK_ROWS rows, the BOM and header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(header_of(target))
    count = 0
    async for cells in rows(pool, target, cipher=cipher, role=role, tz=tz):
        writer.writerow([_csv_cell(c) for c in cells])
        count += 1
        if count % CHUNK_ROWS == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


async def xlsx_chunks(
    pool: Pool, target: results.Target, *, cipher: FieldCipher, role: Role, tz: str
) -> AsyncIterator[bytes]:
    """The XLSX file, written to a temporary file in constant memory, then read out."""
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "in_memory": False})
        sheet = book.add_worksheet("回复")
        bold = book.add_format({"bold": True})
        names = header_of(target)
        sheet.write_row(0, 0, names, bold)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, 0, 38)
        sheet.set_column(1, 4, 16)
        sheet.set_column(5, len(names), 24)
        line = 1
        async for cells in rows(pool, target, cipher=cipher, role=role, tz=tz):
            for column, value in enumerate(cells):
                if isinstance(value, str):  # stored as text, never read as a formula
                    sheet.write_string(line, column, value)
                else:
                    sheet.write_number(line, column, value)
            line += 1
        await asyncio.to_thread(book.close)
        with open(path, "rb") as file:  # noqa: ASYNC230 - local temporary file, read in chunks
            while chunk := file.read(FILE_CHUNK):
                yield chunk
    finally:
        os.unlink(path)
