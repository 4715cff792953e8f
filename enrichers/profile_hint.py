"""Which profiles an input's events went to, and what to tell the user when most of them fell
to the generic profile or passed through: the datasets seen and the ``--profile`` flag, or — for
vendor API JSON that no Elastic integration has shaped — that the integration's ECS layout is
expected. Counting costs two dictionary reads per event; nothing is printed here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sessionwatch.enrichers.events import compile_path

_LABELS = (compile_path("event.dataset"), compile_path("data_stream.dataset"))
NO_LABEL = "(no dataset label)"
MOST = 0.5  # hint when more than half of the events went to generic or passed through

# Top-level keys of raw vendor API records (before an Elastic integration's pipeline): all must be
# present. Each names the vendor and the integration data stream whose layout is expected.
RAW_LAYOUTS: tuple[tuple[frozenset[str], str, str], ...] = (
    (frozenset({"eventType", "uuid", "actor"}), "Okta System Log API", "okta.system"),
    (frozenset({"log_id", "type", "date"}), "Auth0 log API", "auth0.logs"),
    (frozenset({"userPrincipalName", "createdDateTime"}), "Microsoft Graph sign-in", "azure.signinlogs"),
    (frozenset({"category", "properties", "operationName"}), "Azure diagnostic log", "azure.signinlogs"),
    (frozenset({"type", "request", "time"}), "Vault audit device", "hashicorp_vault.audit"),
    (frozenset({"event", "uid", "code"}), "Teleport audit log", "teleport.audit"),
    (frozenset({"kind", "actor", "events", "id"}), "Google Workspace Reports API", "google_workspace.*"),
    (frozenset({"eventName", "eventSource", "userIdentity"}), "AWS CloudTrail", "aws.cloudtrail"),
    (frozenset({"EVENT_TYPE", "TIMESTAMP"}), "Salesforce EventLogFile", "salesforce.*"),
    (frozenset({"txid", "factor", "result"}), "Duo Admin API", "cisco_duo.auth"),
    (frozenset({"date_create", "action", "entity"}), "Slack Audit Logs API", "slack.audit"),
    (frozenset({"SessionID", "SessionStatus"}), "Zscaler ZPA log streaming", "zscaler_zpa.user_status"),
    (frozenset({"session_uuid", "category", "uuid"}), "1Password Events API", "1password.signin_attempts"),
    (frozenset({"_document_id", "action", "actor"}), "GitHub audit log API", "github.audit"),
    (frozenset({"RecordType", "Operation", "Workload"}), "Office 365 Management Activity API", "o365.audit"),
)


@dataclass
class ProfileUsage:
    """Counts per input: events by dataset label, events that went to generic or nowhere, and
    events that look like raw vendor API JSON."""

    events: int = 0
    unclaimed: int = 0  # passed through, or taken by the catch-all generic profile
    datasets: Counter[str] = field(default_factory=Counter)
    raw: Counter[tuple[str, str]] = field(default_factory=Counter)

    def record(self, doc: Mapping[str, Any], dotted: bool, profile: str | None) -> None:
        self.events += 1
        if profile is not None and profile != "generic":
            return
        label = next((v for v in (read(doc, dotted) for read in _LABELS) if isinstance(v, str) and v), None)
        if profile == "generic" and label is not None and label.split(".")[0] == "generic":
            return  # labelled for the generic profile: claimed on purpose, nothing to hint
        self.unclaimed += 1
        self.datasets[label or NO_LABEL] += 1
        if label is None:
            keys = doc.keys()
            for needed, vendor, stream in RAW_LAYOUTS:
                if needed <= keys:
                    self.raw[(vendor, stream)] += 1
                    break

    def hints(self, known: list[str]) -> list[str]:
        """Lines for stderr (empty when most events found a vendor profile)."""
        if not self.events or self.unclaimed <= self.events * MOST:
            return []
        seen = ", ".join(f"{name} ({count})" for name, count in self.datasets.most_common(8))
        lines = [
            f"{self.unclaimed} of {self.events} events went to the generic profile or passed through; "
            f"datasets seen: {seen}. If they come from a known source, name its profile with "
            f"--profile NAME (known: {', '.join(known)})."
        ]
        for (vendor, stream), count in self.raw.most_common(3):
            lines.append(
                f"{count} events look like raw {vendor} JSON: sessionwatch expects the ECS layout the "
                f"Elastic integration writes (data stream {stream}), not the vendor API's own records."
            )
        return lines
