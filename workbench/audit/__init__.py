"""The audit trail: security and personal-data access events, for compliance review."""
