"""HTTP plumbing shared by every feature: problems, middleware, client address."""
