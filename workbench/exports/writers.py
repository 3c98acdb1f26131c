"""Writing a table's rows to a file, row by row, in constant memory: CSV (UTF-8 with a BOM, so
Excel reads the Chinese) or XLSX (XlsxWriter in constant-memory mode, split into sheets at
Excel's row limit with the header repeated on each).

Cells: in CSV, text that a spreadsheet would run as a formula (= + - @ tab CR at the start) is
quoted with a leading apostrophe (a CSV cell has no type: Excel runs `=...`). XLSX cells are
typed: text is written as a string cell, which Excel never runs, so it is kept exactly as it is
(an apostrophe there would show). Times are shown in the bank's time zone; numbers stay numbers
in XLSX, rates (exact fractions such as 0.5625, done / assigned) with a percent format that
rounds them half up as the dashboard and the PDF do (56.3%). In CSV a rate is the fraction to
four places, as the API answers it (0.5625, 0.5185). The same rows always give the same bytes
(no timestamps of the moment in the file), so a re-run export is the same file.
"""

from __future__ import annotations

import csv
import math
import re
import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import xlsxwriter

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}  # as stored in the blob store
# As answered: Litestar adds "; charset=utf-8" to every text/* media type itself.
MEDIA_TYPES = {"csv": "text/csv", "xlsx": XLSX_TYPE}
# Excel's rows per sheet, the header row included; tests lower it to see the split.
MAX_SHEET_ROWS = 1_048_576
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\']")
_FIXED_CREATED = datetime(2000, 1, 1)
RATE_FORMAT = "0.0%"  # as the dashboard shows a rate: one decimal
RATE_PLACES = 4  # a rate in CSV: as /team/progress answers it


def quoted(text: str) -> str:
    """Text a CSV reader will not run as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def text_of(value: Any, zone: ZoneInfo) -> str:
    """A cell as CSV text: times in the bank's time zone, text quoted against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone)
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return quoted(str(value))


class Writer(Protocol):
    def write(self, row: Sequence[Any]) -> None: ...

    def close(self) -> None: ...

    @property
    def sheets(self) -> int: ...


class CsvWriter:
    """A CSV file: BOM, header row, one line per row (RFC 4180 quoting, CRLF line ends)."""

    def __init__(
        self, path: str, header: Sequence[str], *, tz: str, rates: Collection[int] = ()
    ) -> None:
        self._file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self._file.write("\ufeff")
        self._csv = csv.writer(self._file)
        self._csv.writerow([quoted(h) for h in header])
        self._zone = ZoneInfo(tz)
        self._rates = frozenset(rates)

    @property
    def sheets(self) -> int:
        return 1

    def write(self, row: Sequence[Any]) -> None:
        zone, rates = self._zone, self._rates
        self._csv.writerow(
            [
                text_of(round(v, RATE_PLACES) if n in rates and type(v) is float else v, zone)
                for n, v in enumerate(row)
            ]
        )

    def close(self) -> None:
        self._file.close()


def sheet_name(title: str, number: int) -> str:
    """`title` as an Excel sheet name (at most 31 characters, none of []:*?/\\'), numbered from
    the second sheet on."""
    base = _SHEET_NAME_BAD.sub("_", title).strip() or "Sheet"
    suffix = f" ({number})" if number > 1 else ""
    return base[: 31 - len(suffix)] + suffix


class XlsxWriter:
    """An XLSX workbook in constant memory: each row is written out when the next one starts."""

    def __init__(
        self,
        path: str,
        header: Sequence[str],
        *,
        title: str,
        tz: str,
        max_rows: int | None = None,
        rates: Collection[int] = (),
    ) -> None:
        self._book = xlsxwriter.Workbook(
            path, {"constant_memory": True, "in_memory": False, "strings_to_numbers": False,
                   "strings_to_formulas": False, "strings_to_urls": False},
        )  # fmt: skip
        # The same rows, the same bytes: no "created now" in the file's properties.
        self._book.set_properties({"created": _FIXED_CREATED})
        self._header = list(header)
        self._rates = frozenset(rates)
        self._title = title
        self._zone = ZoneInfo(tz)
        self._max = max_rows or MAX_SHEET_ROWS
        self._bold = self._book.add_format({"bold": True})
        self._day = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._rate = self._book.add_format({"num_format": RATE_FORMAT})
        self._count = 0
        self._sheet: Any = None
        self._line = 0

    @property
    def sheets(self) -> int:
        return self._count

    def _next_sheet(self) -> None:
        self._count += 1
        sheet = self._book.add_worksheet(sheet_name(self._title, self._count))
        for column, label in enumerate(self._header):
            sheet.write_string(0, column, label, self._bold)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, max(len(self._header) - 1, 0), 18)
        self._sheet, self._line = sheet, 1

    def write(self, row: Sequence[Any]) -> None:
        if self._sheet is None or self._line >= self._max:
            self._next_sheet()
        sheet, line = self._sheet, self._line
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(line, column, value)
            elif isinstance(value, int | float | Decimal):
                number = float(value)
                if math.isfinite(number):
                    sheet.write_number(line, column, number, self._number_format(column))
                else:
                    sheet.write_string(line, column, str(value))
            elif isinstance(value, datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(self._zone).replace(tzinfo=None)
                sheet.write_datetime(line, column, value, self._time)
            elif isinstance(value, date):
                sheet.write_datetime(line, column, value, self._day)
            elif isinstance(value, uuid.UUID):
                sheet.write_string(line, column, str(value))
            else:
                sheet.write_string(line, column, str(value))  # a string cell: never run
        self._line += 1

    def _number_format(self, column: int) -> Any:
        """A rate column's percent format (Excel shows 0.6111 as 61.1%), else none."""
        return self._rate if column in self._rates else None

    def close(self) -> None:
        if self._sheet is None:
            self._next_sheet()  # a table without rows: its header
        self._book.close()


def open_writer(
    fmt: str,
    path: str,
    header: Sequence[str],
    *,
    title: str,
    tz: str,
    max_rows: int | None = None,
    rates: Collection[int] = (),
) -> Writer:
    """A writer of `fmt` ("csv" or "xlsx") to `path`, its header row written; `rates` are the
    columns (by index) of fractions, shown as percents in XLSX (CSV: the number to 4 places)."""
    if fmt == "csv":
        return CsvWriter(path, header, tz=tz, rates=rates)
    return XlsxWriter(path, header, title=title, tz=tz, max_rows=max_rows, rates=rates)
