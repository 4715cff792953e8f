"""Enrichment output pinned to the bytes written before the engine's fast paths (December round 2):
the benchmark workload's first events (every profile of its mix) with hostile and unusual lines
mixed in, in one process and with two workers. The stored digests were written by the engine
*before* the orjson parse, the cheaper admission and the workers' own parsing; a change of any
output byte or dead-letter reason turns this red.

Rewrite the reference only for an intended output change:
``.venv/bin/python -m tests.unit.test_enrich_reference --write``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.parallel import run as run_stream
from tests.hardening.test_one_event import HOSTILE
from tests.unit.test_bench_workload import workload
from tests.unit.written_lines import Lines

REFERENCE = Path(__file__).with_name("data") / "enrich-reference.json"
EVENTS = 4000
BLOCK = 250  # output lines per stored digest: a failure names the block that differs


def _unusual(lines: list[str]) -> list[str]:
    """Valid lines the fast paths must route to the slow path, or must read alike."""
    first = json.loads(lines[0])
    spaced = json.dumps(json.loads(lines[1]))  # ", " and ": " separators
    escaped = json.dumps(json.loads(lines[2]), ensure_ascii=True).replace("/", "\\/")
    floats = json.dumps({**first, "n": [1e-05, 1e16, -0.0, 2.5, 1e300, 12345678901234567890]})
    unicode = json.dumps({**first, "note": 'é\u2028 \\ " \ud83d\ude00'}, ensure_ascii=False)
    surrogate = lines[3][:-1] + ',"lone":"\\ud800"}'
    big = lines[4][:-1] + f',"big":{2**64},"neg":{-(2**63) - 1}}}'
    dup_nested = lines[5].replace('"@timestamp"', '"x":{"a":1,"a":2},"@timestamp"', 1)
    dup_same = lines[6][:-1] + ',"event":{"action":"logout"}}'
    dup_escaped = lines[7][:-1] + ',"q\\"":1,"q\\"":2}'
    colon_in_text = lines[8][:-1] + ',"t":"a\\":b","u":"\\":"}'
    exponent = lines[9][:-1] + ',"e":1E5,"f":1.0e-3}'
    bad_utf8 = "\udcff"  # stands for an undecodable byte: written as bytes below
    return [
        spaced,
        escaped,
        floats,
        unicode,
        surrogate,
        big,
        dup_nested,
        dup_same,
        dup_escaped,
        colon_in_text,
        exponent,
        "[1,2]",
        '"text"',
        "{not json",
        "{}",
        '{"a":1}  ',
        bad_utf8,
    ]


def corpus() -> list[bytes]:
    stream = workload.Workload(workload.Spec(events=20_000))
    lines = [workload.dumps(doc) for doc in itertools.islice(stream, EVENTS)]
    extra = [*HOSTILE.values(), *_unusual(lines)]
    out: list[bytes] = []
    step = len(lines) // (len(extra) + 1)
    for index, text in enumerate(lines):
        out.append(text.encode("utf-8"))
        if index % step == step - 1 and extra:
            added = extra.pop(0)
            out.append(b"\xff{}" if added == "\udcff" else added.encode("utf-8", "surrogatepass"))
    return out


def enrich(workers: int) -> tuple[list[str], list[str]]:
    written = Lines()
    dead: list[str] = []
    run_stream(
        corpus(),
        written,
        lambda letter: dead.append(letter.to_json()),
        profiles=ProfileRegistry.discover(),
        enrichers=discover_enrichers(),
        options=EngineOptions(reorder_window=60.0),
        workers=workers,
    )
    return written, sorted(dead)


def digests(written: list[str], dead: list[str]) -> dict[str, Any]:
    def sha(lines: list[str]) -> str:
        return hashlib.sha256("".join(lines).encode("utf-8", "surrogatepass")).hexdigest()

    blocks = [sha(written[at : at + BLOCK]) for at in range(0, len(written), BLOCK)]
    return {"lines": len(written), "blocks": blocks, "dead": len(dead), "dead_sha256": sha(dead)}


@pytest.mark.parametrize("workers", [1, 2])
def test_output_is_byte_identical_to_the_stored_reference(workers: int) -> None:
    expected = json.loads(REFERENCE.read_text(encoding="utf-8"))
    got = digests(*enrich(workers))
    assert got["lines"] == expected["lines"]
    assert got["dead"] == expected["dead"]
    differ = [n for n, (a, b) in enumerate(zip(got["blocks"], expected["blocks"], strict=True)) if a != b]
    assert differ == [], f"output lines {[n * BLOCK for n in differ]}.. (+{BLOCK}) differ from the reference"
    assert got["dead_sha256"] == expected["dead_sha256"]


def test_the_corpus_has_the_cases_the_fast_paths_divert() -> None:
    written, dead = enrich(1)
    reasons = {json.loads(letter)["reason"] for letter in dead}
    assert "NaN is not a JSON value" in reasons
    assert any(r.startswith("invalid UTF-8") for r in reasons)
    assert any("duplicate keys" in line for line in written)
    assert any('"big":18446744073709551616' in line for line in written)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    REFERENCE.write_text(json.dumps(digests(*enrich(1)), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}")
