"""Version 1 of the wire contract (see shared/API.md)."""
