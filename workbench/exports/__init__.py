"""Exports of console tables as CSV (UTF-8 with BOM) and XLSX: direct or by the worker."""
