"""The dashboard's tables for exports (registered with `workbench.exports.tables`)."""

from __future__ import annotations
