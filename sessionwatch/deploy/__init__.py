"""``sessionwatch deploy``: plan, diff and apply index templates, watches or runner
configuration, and least-privilege roles, idempotently."""
