"""Conversions from bank systems, and share funnels (shared, opened, engaged, clicked,
converted)."""
