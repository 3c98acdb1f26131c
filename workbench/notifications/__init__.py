"""The in-app notification centre: every alert to a user is stored here (push delivers it)."""
