"""The branch-head dashboard: one source of numbers (`numbers`), its console pages and tables."""
