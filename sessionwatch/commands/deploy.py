"""``sessionwatch deploy``: put index templates, roles, and watches or runner entries into a cluster.

Idempotent (a second run changes nothing and says so); ``--dry-run`` prints the plan and diffs
without applying; rules no longer in the pack are removed only with ``--prune``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from elasticsearch import Elasticsearch

from sessionwatch.deploy.cluster import apply, capabilities, deployed_state
from sessionwatch.deploy.desired import MODES, desired
from sessionwatch.deploy.model import Kind, plan
from sessionwatch.deploy.roles import roles
from sessionwatch.es import ENV_URL, connect, redact_url, resolve_url, wait_until_ready
from sessionwatch.renderer.kibana import to_ndjson
from sessionwatch.renderer.webhooks import PROVIDERS
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules.errors import ElasticsearchUnavailable, SessionwatchError
from sessionwatch.rules.model import Rule, parse_time
from sessionwatch.watch_dryrun import bulk_documents, dry_run, java_time


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("deploy", help="deploy index templates, roles and watches or runner entries")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    parser.add_argument("--es-url", help="cluster URL (default: $SESSIONWATCH_ES_URL)")
    parser.add_argument(
        "--mode", choices=MODES, default="runner", help="watches (needs Watcher) or runner entries"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan and diffs, change nothing")
    parser.add_argument(
        "--prune", action="store_true", help="remove deployed rules that are no longer in the pack"
    )
    parser.add_argument(
        "--api-key-file",
        help="file holding an API key (else $SESSIONWATCH_ES_API_KEY or basic auth from env)",
    )
    parser.add_argument("--ca-certs", help="CA bundle for a TLS cluster")
    parser.add_argument(
        "--terminate", choices=PROVIDERS, help="watches also call this session-revocation webhook"
    )
    parser.add_argument("--roles-out", metavar="DIR", help="also write the rendered roles as JSON files")
    parser.add_argument("--skip-roles", action="store_true", help="do not put roles (managed elsewhere)")
    parser.add_argument(
        "--simulate",
        metavar="TIME",
        help="with --mode watcher: dry-run every watch on this cluster as triggered at TIME "
        "(no Watcher needed; nothing is applied)",
    )
    parser.add_argument(
        "--kibana-out",
        metavar="FILE",
        help="also write the rules as a Kibana import file (NDJSON); with no cluster URL given, "
        "only write it",
    )
    parser.set_defaults(run=run)


def _client(args: argparse.Namespace) -> Elasticsearch:
    if not args.api_key_file:
        return connect(args.es_url, ca_certs=args.ca_certs)
    url = resolve_url(args.es_url)
    try:
        key = Path(args.api_key_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ElasticsearchUnavailable(f"{args.api_key_file}: {exc.strerror}") from None
    options = {"ca_certs": args.ca_certs} if args.ca_certs else {}
    client = Elasticsearch(url, api_key=key, verify_certs=True, request_timeout=30.0, **options)
    wait_until_ready(client, redact_url(url))
    return client


def _write_side_outputs(args: argparse.Namespace, rules: list[Rule]) -> None:
    if args.roles_out:
        folder = Path(args.roles_out)
        folder.mkdir(parents=True, exist_ok=True)
        for name, body in roles(rules, args.mode).items():
            (folder / f"{name}.json").write_text(
                json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )


def _simulate(client: Elasticsearch, rules: list[Rule], args: argparse.Namespace) -> int:
    """What each watch would do at ``--simulate TIME`` (``sessionwatch.watch_dryrun``)."""
    if args.mode != "watcher":
        raise SessionwatchError("--simulate dry-runs watches: use it with --mode watcher")
    try:
        when = parse_time(args.simulate)
    except ValueError as exc:
        raise SessionwatchError(f"--simulate: {exc}") from None
    wanted = desired(rules, "watcher", terminate=args.terminate, with_roles=False)
    for note in wanted.notes:
        print(note)
    raised = 0
    for resource in wanted.resources:
        if resource.kind is not Kind.WATCH:
            continue
        result = dry_run(client, resource.body, when, watch_id=resource.name)
        resolved = ", ".join(
            f"{k}={v if not isinstance(v, list) else len(v)}" for k, v in result.resolved_values.items()
        )
        verdict = "met" if result.condition_met else "not met"
        print(f"{resource.name} at {java_time(when)}: condition {verdict} ({resolved})")
        for action in result.actions:
            if action.id == "index_alerts":
                docs = sum(len(bulk_documents(r["body"])) for r in action.requests)
                raised += docs
                print(f"  index_alerts: {docs} alert documents")
            else:
                print(f"  {action.id}: {action.iterations} {action.type} calls")
    watches = sum(r.kind is Kind.WATCH for r in wanted.resources)
    print(f"simulated {watches} watches: {raised} alerts; nothing applied")
    return 1 if raised else 0


def _write_kibana(args: argparse.Namespace, rules: list[Rule]) -> None:
    """The Kibana import file: rendered from the rules alone, before any cluster is contacted."""
    Path(args.kibana_out).write_text(to_ndjson(rules), encoding="utf-8")
    print(f"wrote {len(rules)} Kibana detection rules to {args.kibana_out}")


def run(args: argparse.Namespace) -> int:
    rules = load_selected(args.paths, include_deprecated=False)
    if args.kibana_out:
        _write_kibana(args, rules)
        if not (args.es_url or os.environ.get(ENV_URL)) and not args.simulate:
            print("no cluster URL given (--es-url, $SESSIONWATCH_ES_URL): nothing else to deploy")
            return 0
    client = _client(args)
    shown = redact_url(resolve_url(args.es_url))
    if args.simulate:
        return _simulate(client, rules, args)
    found = capabilities(client)
    if args.mode == "watcher" and not found.watcher:
        raise ElasticsearchUnavailable(
            f"{shown} has no usable Watcher (GET _watcher/stats: {found.watcher_reason}); use --mode runner"
        )
    if args.terminate and args.mode != "watcher":
        raise SessionwatchError("--terminate applies to watches; the runner takes its webhook from `run`")
    wanted = desired(
        rules, args.mode, terminate=args.terminate, with_roles=found.security and not args.skip_roles
    )
    rule_kind = Kind.WATCH if args.mode == "watcher" else Kind.RUNNER_RULE
    current = deployed_state(client, wanted.resources, {rule_kind})
    result = plan(wanted.resources, current, prune=args.prune)
    result.notes += wanted.notes
    if not found.security:
        result.notes.append(
            "note: security is disabled on this cluster: roles are not applied (see --roles-out)"
        )
    elif args.skip_roles:
        result.notes.append("note: --skip-roles: roles are not applied (see --roles-out)")
    print(f"deploy to {shown} (mode {args.mode}, {len(rules)} rules)")
    for line in result.lines():
        print(line)
    _write_side_outputs(args, rules)
    if args.dry_run:
        print(f"dry run: {result.summary()}; nothing applied")
        return 0
    apply(client, result.changes)
    if result.pending():
        print(f"applied: {result.summary()}")
    else:
        print(result.summary())
    return 0
