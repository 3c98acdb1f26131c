"""The customer timeline: one place every feature writes what happened with a customer."""
