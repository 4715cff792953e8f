"""The runner: evaluates each rule over overlapping windows, checkpointed in Elasticsearch.

Order of work for one window (see docs/runner.md): search → create alerts (deterministic ids)
→ webhook for new alerts (and known ones whose outcome is still owed) → outcome document →
audit record → checkpoint. Any failure before the checkpoint leaves it where it was, so the
window is evaluated again after a backoff: a window is never skipped, and an alert is never
written twice. Every write is a ``create`` except the checkpoint's.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch.es import describe_error as describe
from sessionwatch.es import unavailable
from sessionwatch.index_settings import site_cluster_settings
from sessionwatch.indices import ALERTS_INDEX, AUDIT_INDEX, STATE_INDEX, terminations_index_for
from sessionwatch.renderer import Window, render_query
from sessionwatch.rules.counters import Counters
from sessionwatch.rules.errors import ElasticsearchUnavailable, SessionwatchError
from sessionwatch.rules.model import Rule
from sessionwatch.runner.alert_store import (
    owed_terminations,
    record_termination,
    termination_doc,
    write_alerts,
)
from sessionwatch.runner.audit import AuditLog, AuditRecord, window_record_id
from sessionwatch.runner.backoff import Backoff
from sessionwatch.runner.clock import Clock, iso, parse_iso, utc_now
from sessionwatch.runner.evaluation import evaluate_window, rule_hash
from sessionwatch.runner.state import StateStore, Stored, ensure_indices
from sessionwatch.runner.webhook import WebhookClient
from sessionwatch.runner.windows import Slot, is_due, next_slot

log = logging.getLogger("sessionwatch.runner")
NODE_ERRORS = (ApiError, TransportError, ElasticsearchUnavailable)


class GaveUp(ElasticsearchUnavailable):
    """A rule kept failing for longer than the runner was allowed to retry."""


@dataclass(frozen=True, kw_only=True)
class RunnerOptions:
    runner_id: str = "default"
    index: str | None = None  # overrides each rule's scope.index
    alerts_index: str = ALERTS_INDEX
    audit_index: str = AUDIT_INDEX
    state_index: str = STATE_INDEX
    every: timedelta | None = None  # overrides each rule's schedule.interval
    max_span: timedelta | None = None  # default: the interval
    start: datetime | None = None  # first checkpoint when none is stored (default: now - interval)
    not_before: datetime | None = None  # no window reaches before this (a backfill of exactly it)
    until: datetime | None = None  # horizon instead of the wall clock; ends the run there
    once: bool = False
    retry: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=60.0))
    give_up_after: float | None = None  # seconds of failure before a --once/--until run stops

    @property
    def terminations_index(self) -> str:
        """Webhook outcomes, next to the alerts they belong to."""
        return terminations_index_for(self.alerts_index)


@dataclass
class Summary(Counters):
    evaluations: int = 0
    errors: int = 0
    alerts_raised: int = 0
    alerts_known: int = 0
    terminations: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        calls = " ".join(f"{k}={v}" for k, v in sorted(self.terminations.items()))
        return super().line() + (f" webhook: {calls}" if calls else "")


@dataclass
class _RuleState:
    rule: Rule
    hash: str
    stored: Stored | None = None
    checkpoint: datetime | None = None
    failing_since: float | None = None
    retry_at: float = 0.0
    failures: int = 0


class Runner:
    def __init__(
        self,
        client: Elasticsearch,
        rules: Sequence[Rule],
        options: RunnerOptions,
        *,
        webhook: WebhookClient | None = None,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.options = options
        self.webhook = webhook
        self.clock = clock
        self.monotonic = monotonic
        self.stop = threading.Event()
        self.state = StateStore(client, options.state_index)
        self.audit = AuditLog(client, options.audit_index)
        self.summary = Summary()
        for rule in rules:  # a rule that cannot render is a user error: say so before starting
            render_query(rule, Window("now-1h", "now"))
        self.rules = [_RuleState(rule, rule_hash(rule)) for rule in rules]
        self._ready = False

    # --- schedule ---------------------------------------------------------------------------

    def interval(self, rule: Rule) -> timedelta:
        return self.options.every or timedelta(seconds=rule.schedule.interval_seconds)

    def span(self, rule: Rule) -> timedelta:
        return self.options.max_span or self.interval(rule)

    def horizon(self, now: datetime) -> datetime:
        return min(now, self.options.until) if self.options.until else now

    @property
    def finite(self) -> bool:
        return self.options.once or self.options.until is not None

    def run(self) -> Summary:
        """Evaluate until stopped (or, with ``once``/``until``, until every rule is caught up)."""
        while not self.stop.is_set():
            pending = self.tick()
            if self.finite and not pending:
                break
            wait = self.next_wakeup() - self.monotonic()
            if wait > 0:
                self.stop.wait(wait)
        self.audit.flush()
        return self.summary

    def tick(self) -> bool:
        """Evaluate every window that is due; True while some rule still has work left."""
        if not self._prepare():
            return True
        now = self.clock()
        horizon = self.horizon(now)
        left = False
        for state in self.rules:
            if self.stop.is_set():
                return True
            if state.retry_at > self.monotonic():
                left = True
                continue
            try:
                left = self._catch_up(state, now, horizon) or left
            except (*NODE_ERRORS, SessionwatchError) as exc:
                self._failed(state, exc)
                left = True
        return left

    def next_wakeup(self) -> float:
        """Monotonic time at which the next rule is due or may retry."""
        base = self.monotonic()
        if not self._ready:
            return min((s.retry_at for s in self.rules), default=base)
        if self.finite:
            return min((s.retry_at for s in self.rules), default=base)
        now = self.clock()
        waits = []
        for state in self.rules:
            if state.retry_at > base:
                waits.append(state.retry_at)
            elif state.checkpoint is not None:
                due = state.checkpoint + self.interval(state.rule)
                waits.append(base + max(0.0, (due - now).total_seconds()))
        return min(waits, default=base + 1.0)

    # --- one rule ----------------------------------------------------------------------------

    def _prepare(self) -> bool:
        if self._ready:
            return True
        try:
            created = ensure_indices(self.client, self.options.state_index, site_cluster_settings())
        except NODE_ERRORS as exc:
            for state in self.rules:
                self._failed(state, exc)
            return False
        for what in created:
            log.info("created %s", what)
        self._ready = True
        return True

    def _load(self, state: _RuleState) -> datetime:
        if state.checkpoint is None:
            stored = self.state.get(self._doc_id(state.rule))
            state.stored = stored
            if stored.data and "checkpoint" in stored.data:
                state.checkpoint = parse_iso(stored.data["checkpoint"])
            else:
                # no checkpoint yet: evaluate at once, one interval (plus the lookback) back
                state.checkpoint = self.options.start or self.horizon(self.clock()) - self.interval(
                    state.rule
                )
        return state.checkpoint

    def _doc_id(self, rule: Rule) -> str:
        return f"runner:{self.options.runner_id}:{rule.id}"

    def _catch_up(self, state: _RuleState, now: datetime, horizon: datetime) -> bool:
        rule = state.rule
        lookback = timedelta(seconds=rule.schedule.lookback_seconds)
        while not self.stop.is_set():
            checkpoint = self._load(state)
            if not self.finite and not is_due(checkpoint, now, self.interval(rule)):
                return False
            slot = next_slot(
                checkpoint, horizon, lookback=lookback, span=self.span(rule), floor=self.options.not_before
            )
            if slot is None:
                return False
            self._evaluate(state, slot)
            state.failures, state.failing_since, state.retry_at = 0, None, 0.0
        return True

    def _evaluate(self, state: _RuleState, slot: Slot) -> None:
        rule = state.rule
        began = self.monotonic()
        runner_id = self.options.runner_id
        record = AuditRecord(
            rule,
            state.hash,
            slot.window,
            runner_id,
            iso(self.clock()),
            record_id=window_record_id(runner_id, rule, state.hash, slot.window),
        )
        queued = False
        try:
            result = evaluate_window(self.client, rule, self.options.index or rule.scope.index, slot.window)
            record.documents_examined, record.matches = result.examined, result.matches
            record.truncated = result.truncated
            written = write_alerts(
                self.client,
                self.options.alerts_index,
                result.alerts,
                termination=self.webhook is not None,
                created=iso(self.clock()),
            )
            record.alerts_raised, record.alerts_known = len(written.new), written.known
            self.summary.alerts_raised += len(written.new)  # created now, whatever fails later
            if self.webhook:
                owed = owed_terminations(
                    self.client, self.options.alerts_index, self.options.terminations_index, written.known_ids
                )
                for alert in [*written.new, *owed]:
                    outcome = self._terminate(state, alert)
                    record.terminations[outcome] = record.terminations.get(outcome, 0) + 1
            record.duration_ms = int((self.monotonic() - began) * 1000)
            self.audit.add(record)
            queued = True
            if not self.audit.flush():
                raise ElasticsearchUnavailable("audit record not written")
            state.stored = self.state.put(
                self._doc_id(rule),
                "runner",
                {"checkpoint": iso(slot.end), "rule": {"id": str(rule.id), "name": rule.name}},
                state.stored or Stored(None),
                iso(self.clock()),
            )
        except (*NODE_ERRORS, SessionwatchError) as exc:
            if not queued:
                record.outcome, record.error = "error", describe(exc)
                record.record_id = uuid.uuid4().hex  # one record per failed try
                record.duration_ms = int((self.monotonic() - began) * 1000)
                self.audit.add(record)
                self.audit.flush()
            state.checkpoint = None  # re-read: another runner may have moved it
            if isinstance(exc, SessionwatchError):
                raise
            raise unavailable(f"{rule.name} {slot.window.start}..{slot.window.end}", exc) from exc
        state.checkpoint = slot.end
        self._count(record)
        log.info(
            "%s %s..%s examined=%s matches=%s new=%s known=%s%s",
            rule.name,
            slot.window.start,
            slot.window.end,
            record.documents_examined,
            record.matches,
            record.alerts_raised,
            record.alerts_known,
            "".join(f" webhook_{k}={v}" for k, v in sorted(record.terminations.items())),
        )

    def _terminate(self, state: _RuleState, alert: dict[str, Any]) -> str:
        """Call the webhook for one alert and create its outcome document (the alert itself is
        never updated); returns the status."""
        assert self.webhook is not None
        delivery = self.webhook.deliver(state.rule, alert)
        doc = termination_doc(
            alert,
            delivery.as_doc(),
            provider=self.webhook.provider,
            runner_id=self.options.runner_id,
            when=iso(self.clock()),
        )
        record_termination(self.client, self.options.terminations_index, doc)
        if delivery.status != "delivered":
            log.warning(
                "webhook for alert %s failed after %d attempt(s): %s",
                alert["event"]["id"],
                delivery.attempts,
                delivery.error,
            )
        return delivery.status

    def _count(self, record: AuditRecord) -> None:
        self.summary.evaluations += 1
        self.summary.alerts_known += record.alerts_known
        for key, value in record.terminations.items():
            self.summary.terminations[key] = self.summary.terminations.get(key, 0) + value

    def _failed(self, state: _RuleState, exc: BaseException) -> None:
        refused = isinstance(exc, SessionwatchError) and not isinstance(exc, ElasticsearchUnavailable)
        if self.finite and refused:  # a request the cluster refuses (4xx): waiting will not help
            self.audit.flush()
            raise SessionwatchError(f"rule {state.rule.name}: {describe(exc)}") from None
        now = self.monotonic()
        self.summary.errors += 1
        state.failing_since = state.failing_since or now
        delay = self.options.retry.delay(state.failures)
        state.failures += 1
        state.retry_at = now + delay
        log.warning("%s: %s; retry %d in %.1f s", state.rule.name, describe(exc), state.failures, delay)
        limit = self.options.give_up_after
        if self.finite and limit is not None and now - state.failing_since >= limit:
            raise GaveUp(f"rule {state.rule.name} kept failing for {limit:.0f} s: {describe(exc)}")
