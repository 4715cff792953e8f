"""``python -m bench.scenarios``: generate a seeded scenario, run detect on it, print the scores."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.scenarios.generate import generate, read_labels, write
from bench.scenarios.score import DEFAULT, SITE_RUN, DetectFailed, event_index, run_detect, score, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scenarios", description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("scenario-out"))
    parser.add_argument(
        "--clean", action="store_true", help="no violations or near misses, clean traffic only"
    )
    parser.add_argument("--es-url", help="cluster URL (default: $SESSIONWATCH_ES_URL)")
    parser.add_argument("--config", type=Path, help="site configuration passed to detect --config")
    parser.add_argument(
        "--rules", type=Path, help="rule directory instead of the installed packs (scored as a site run)"
    )
    parser.add_argument("--generate-only", action="store_true", help="write the files, do not run detect")
    parser.add_argument("--details", type=int, default=2, help="false positives listed one by one per kind")
    args = parser.parse_args(argv)
    scenario = generate(args.seed, args.days, args.users, clean=args.clean)
    write(scenario, args.out)
    print(
        f"scenario: {len(scenario.events)} events, {len(scenario.labels)} labels in {args.out}",
        file=sys.stderr,
    )
    if args.generate_only:
        return 0
    try:
        alerts = run_detect(
            args.out / "events.ndjson", es_url=args.es_url, config=args.config, rules=args.rules
        )
    except DetectFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    (args.out / "alerts.ndjson").write_text("".join(json.dumps(a, sort_keys=True) + "\n" for a in alerts))
    scores = score(
        alerts,
        read_labels(args.out / "truth.json"),
        enabled=SITE_RUN if args.config is not None or args.rules is not None else DEFAULT,
        index=event_index(scenario.events),
    )
    (args.out / "scores.json").write_text(json.dumps([s.to_json() for s in scores.values()], indent=1) + "\n")
    print(table(scores, details=args.details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
