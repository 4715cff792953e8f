"""What requested facts save: the engine in this process over the same file, alternately with
every fact and with a subset (the facts of the session-clock and lifecycle rule kinds only).

``python -m bench.requested_facts FILE [--reps N]``: CPU seconds of each run (``getrusage``).
"""

from __future__ import annotations

import argparse
import os
import resource

from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.parallel import run

SUBSET = frozenset(
    {
        "sessionwatch.session.start",
        "sessionwatch.session.age_seconds",
        "sessionwatch.session.idle_seconds",
        "sessionwatch.session.reauth",
        "sessionwatch.session.since_auth_seconds",
        "sessionwatch.session.ended",
        "sessionwatch.session.since_end_seconds",
    }
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def enrich_once(path: str, facts: frozenset[str] | None) -> float:
    """CPU seconds to enrich ``path`` into /dev/null with the requested ``facts``."""
    profiles, enrichers = ProfileRegistry.discover(), discover_enrichers()
    options = EngineOptions(reorder_window=60.0, facts=facts)
    start = _cpu()
    with open(path, "rb") as lines, open(os.devnull, "w", encoding="utf-8") as sink:
        run(lines, sink.write, lambda dead: None, profiles=profiles, enrichers=enrichers, options=options)
    return _cpu() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args(argv)
    best: dict[str, float] = {}
    for rep in range(args.reps):
        for label, facts in (("all facts", None), ("subset", SUBSET)):
            cpu = enrich_once(args.file, facts)
            best[label] = min(best.get(label, cpu), cpu)
            print(f"  rep {rep + 1}: {label}: {cpu:.2f} s cpu (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"  subset / all facts (CPU): {best['subset'] / best['all facts']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
