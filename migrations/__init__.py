"""Numbered, forward-only plain-SQL migrations, applied in order by `workbench migrate`."""
