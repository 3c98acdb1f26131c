"""Customer-facing mobile pages (H5): no account, reached through signed single-purpose links."""
