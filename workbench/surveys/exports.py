"""A survey's responses as a spreadsheet: one row per response with its answers, CSV (UTF-8 with
a BOM, so spreadsheet programs read the Chinese) or XLSX (XlsxWriter in constant-memory mode).

Same scope and period as the results. The rows are read through a cursor on a connection of
their own (the request's transaction ends before the body is sent) and written as they come:
CSV is streamed chunk by chunk; XLSX is written row by row to a temporary file (a zip can only
be finished at the end), then streamed from it and deleted.

A staff survey's rows (only exported with at least `results.MIN_STAFF_GROUP` responses; the
route checks) name no one: each under the unit of its group, with its day only and its shown id
(not the response's, which tells the time), by day, then by that id.
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

from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.db import Pool
from workbench.security.vault import FieldCipher
from workbench.surveys import results
from workbench.surveys.rollups import queries

CHUNK_ROWS = 500
FILE_CHUNK = 256 * 1024
FIXED = ("回复编号", "发送日期", "提交时间", "机构", "答题人")


def header(questions: Sequence[Question]) -> list[str]:
    return [*FIXED, *(f"{q.key} {q.text}" for q in questions)]


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
        async for cells in _staff_rows(pool, target, cipher=cipher, tz=tz):
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


async def _staff_rows(
    pool: Pool, target: results.Target, *, cipher: FieldCipher, tz: str
) -> AsyncIterator[list[Any]]:
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in queries.staff_export_rows(
            conn, target.scope, start=target.period.start, end=target.period.end, tz=tz,
        ):  # fmt: skip
            texts = results.open_texts(cipher, row["id"], row["texts_enc"])
            answers = row["answers"] or {}
            yield [
                str(row["shown_id"]),
                row["day"].isoformat(),
                row["submitted_on"].isoformat(),
                row["org_unit_name"],
                results.STAFF,
                *_answers(target, answers, texts),
            ]


async def csv_chunks(
    pool: Pool, target: results.Target, *, cipher: FieldCipher, role: Role, tz: str
) -> AsyncIterator[bytes]:
    """The CSV file in chunks of CHUNK_ROWS rows, the BOM and header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(header(target.questions))
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
        names = header(target.questions)
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
