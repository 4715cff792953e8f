"""Names of the indices sessionwatch writes: enriched events, alerts, the audit trail of
evaluations, termination webhook outcomes, and runner/follower state.

A module of its own so that what only needs a name (the command line's defaults) does not load
the Elasticsearch client; ``indices`` holds their templates.
"""

EVENTS_PATTERN = "sessionwatch-events-*"
EVENTS_DEFAULT = "sessionwatch-events-default"
ALERTS_INDEX = "sessionwatch-alerts-default"
ALERTS_PATTERN = "sessionwatch-alerts-*"
AUDIT_INDEX = "sessionwatch-audit-default"
AUDIT_PATTERN = "sessionwatch-audit-*"
TERMINATIONS_INDEX = "sessionwatch-terminations-default"
TERMINATIONS_PATTERN = "sessionwatch-terminations-*"
STATE_INDEX = "sessionwatch-state"
