"""``sessionwatch new``: scaffold a rule with its positive and negative fixtures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from sessionwatch.rules.errors import Location, UsageError
from sessionwatch.rules.kinds import Kind
from sessionwatch.rules.policies import load_policies
from sessionwatch.scaffold import Choices, sample, scaffold


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("new", help="scaffold a rule with a positive and a negative fixture")
    parser.add_argument("name", help="rule name (also the file name): lower-case letters, digits and '-'")
    parser.add_argument("--kind", required=True, choices=[k.value for k in Kind], help="the rule kind")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the rule (repeatable), e.g. idle_timeout=20m; VALUE is read as YAML",
    )
    parser.add_argument("--title", help="the rule's title (default: the kind's, with your parameters)")
    parser.add_argument(
        "--policy", help="the policy profile the rule enforces; its thresholds set the parameters' defaults"
    )
    parser.add_argument(
        "--rules-dir",
        default="rules",
        help="rules directory (default: rules); the rule goes to RULES_DIR/KIND/NAME.yml",
    )
    parser.set_defaults(run=run)


def parse_params(items: list[str], kind: Kind) -> dict[str, Any]:
    """``NAME=VALUE`` options as a mapping; a ``UsageError`` for a bad spelling or unknown name."""
    known = sample(kind).params
    params: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {item!r}: write NAME=VALUE, e.g. idle_timeout=20m", Location(item))
        if name not in known:
            raise UsageError(f"--param {name!r}: {kind.value} rules take {', '.join(known)}", Location(item))
        try:
            params[name] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UsageError(f"--param {name}: {raw!r} is not a YAML value", Location(item)) from None
    return params


def choices(args: argparse.Namespace, kind: Kind) -> Choices:
    thresholds: dict[str, Any] = {}
    if args.policy is not None:
        policies = load_policies([Path(args.rules_dir) / kind.value / f"{args.name}.yml"])
        if args.policy not in policies:
            known = ", ".join(sorted(policies))
            raise UsageError(
                f"--policy: unknown policy {args.policy!r}; known: {known}", Location(args.policy)
            )
        thresholds = dict(policies[args.policy].thresholds)
    return Choices(
        params=parse_params(args.param, kind),
        title=args.title,
        policy=args.policy,
        policy_thresholds=thresholds,
    )


def run(args: argparse.Namespace) -> int:
    kind = Kind(args.kind)
    made = scaffold(kind, args.name, Path(args.rules_dir), choices(args, kind))
    for path in (made.rule, made.positive, made.negative):
        print(f"created {path}")
    print(
        f"next: edit the rule and its fixtures, then run `sessionwatch validate {args.rules_dir}`"
        f" and `sessionwatch test {args.rules_dir}`",
        file=sys.stderr,
    )
    return 0
