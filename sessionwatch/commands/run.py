"""``sessionwatch run``: the runner for clusters without Watcher (see docs/runner.md)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import datetime, timedelta
from types import FrameType

from sessionwatch.renderer.webhooks import PROVIDERS
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules.durations import parse_duration
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.runner import Runner, RunnerOptions, WebhookClient
from sessionwatch.runner.clock import parse_iso
from sessionwatch.runner.connection import connect_with_retry

log = logging.getLogger("sessionwatch.runner")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", help="evaluate rules on a schedule and write alerts (no Watcher needed)")
    parser.add_argument("--es-url", help="cluster URL (default: $SESSIONWATCH_ES_URL)")
    parser.add_argument("--ca-certs", help="CA bundle for a TLS cluster")
    parser.add_argument("--rules", nargs="+", default=[], metavar="PATH", help="rule files or directories")
    parser.add_argument("--index", metavar="PATTERN", help="enriched events (default: each rule's scope)")
    parser.add_argument("--every", metavar="DURATION", help="evaluate every DURATION (default: per rule)")
    parser.add_argument("--once", action="store_true", help="catch every rule up to now, then exit")
    parser.add_argument("--start", metavar="TIME", help="first checkpoint when none is stored")
    parser.add_argument("--until", metavar="TIME", help="evaluate up to TIME, then exit (backfill)")
    parser.add_argument(
        "--not-before",
        metavar="TIME",
        help="no window reaches before TIME (with --start TIME: a backfill of exactly TIME..--until)",
    )
    parser.add_argument("--max-span", metavar="DURATION", help="longest step of a window (default: interval)")
    parser.add_argument("--runner-id", default="default", help="name of this runner's checkpoints")
    parser.add_argument("--alerts-index", help="where alerts go (default: sessionwatch-alerts-default)")
    parser.add_argument("--audit-index", help="where audit records go (default: sessionwatch-audit-default)")
    parser.add_argument("--state-index", help="where checkpoints live (default: sessionwatch-state)")
    parser.add_argument(
        "--give-up-after",
        metavar="DURATION",
        default="10m",
        help="with --once/--until: stop (exit 2) after failing this long (default 10m)",
    )
    hook = parser.add_argument_group("forced termination (one webhook call per new alert)")
    hook.add_argument(
        "--terminate",
        choices=PROVIDERS,
        metavar="PROVIDER",
        help="call this session-revocation webhook for each new alert; secrets from the environment",
    )
    hook.add_argument("--webhook-timeout", type=float, default=10.0, help="seconds per attempt (default 10)")
    hook.add_argument("--webhook-attempts", type=int, default=4, help="attempts per alert (default 4)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(run=run)


def _duration(option: str, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise SessionwatchError(f"{option}: {exc}") from None


def _time(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise SessionwatchError(f"{option}: {exc}") from None


def options_from(args: argparse.Namespace) -> RunnerOptions:
    give_up = _duration("--give-up-after", args.give_up_after)
    extra = {
        name: getattr(args, name)
        for name in ("alerts_index", "audit_index", "state_index")
        if getattr(args, name)
    }
    return RunnerOptions(
        runner_id=args.runner_id,
        index=args.index,
        every=_duration("--every", args.every),
        max_span=_duration("--max-span", args.max_span),
        start=_time("--start", args.start),
        until=_time("--until", args.until),
        not_before=_time("--not-before", args.not_before),
        once=args.once,
        give_up_after=give_up.total_seconds() if give_up else None,
        **extra,
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)  # our own lines say what failed
    options = options_from(args)
    rules = load_selected(args.rules, include_deprecated=False)
    webhook = None
    if args.terminate:
        webhook = WebhookClient(args.terminate, timeout=args.webhook_timeout, attempts=args.webhook_attempts)
        log.info("termination webhook: %s %s", args.terminate, webhook.check(rules))
    finite = options.once or options.until is not None
    client = connect_with_retry(
        args.es_url, ca_certs=args.ca_certs, give_up_after=options.give_up_after if finite else None
    )
    runner = Runner(client, rules, options, webhook=webhook)

    def _stop(signum: int, frame: FrameType | None) -> None:
        runner.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    log.info("runner %s: %d rules", options.runner_id, len(rules))
    summary = runner.run()
    log.info("runner %s stopped: %s", options.runner_id, summary.line())
    return 0
