"""The engine's fast paths give today's output: orjson against the standard library, the
events the front ships to workers, and requested facts (only the enrichers needed run)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers import (
    FACTS,
    CanonicalEvent,
    EngineOptions,
    ProfileRegistry,
    discover_enrichers,
    jsonio,
)
from sessionwatch.enrichers import engine as engine_module
from sessionwatch.enrichers import output as output_module
from sessionwatch.enrichers.parallel import run as run_stream
from sessionwatch.enrichers.parallel import unship
from tests.unit.test_bench_workload import workload
from tests.unit.test_enrich_cli import enrich
from tests.unit.test_enrich_helpers import run
from tests.unit.written_lines import Lines


def _workload(events: int) -> list[str]:
    """The benchmark workload's first events (every profile of its mix), as raw lines."""
    stream = workload.Workload(workload.Spec(events=20_000))
    return [workload.dumps(doc) for doc in itertools.islice(stream, events)]


def _enrich(lines: list[str], workers: int = 1, **options: Any) -> list[str]:
    written = Lines()
    run_stream(
        lines,
        written,
        lambda dead: None,
        profiles=ProfileRegistry.discover(),
        enrichers=discover_enrichers(),
        options=EngineOptions(reorder_window=60.0, **options),
        workers=workers,
    )
    return written


def _stdlib_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        output_module, "dumps_compact", lambda doc: json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    )


def test_orjson_output_is_byte_identical_to_the_standard_library(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _workload(3000)
    fast = _enrich(lines)
    with monkeypatch.context() as patch:
        _stdlib_only(patch)
        slow = _enrich(lines)
    assert len(fast) == 3000
    assert fast == slow


@pytest.mark.parametrize(
    "value",
    [1e-05, 1.5e-07, 9.99e-05, 0.0001, 1e16, 2.5e11, -0.0, float("nan"), float("inf"), 2**70, -(2**64)],
    ids=repr,
)
def test_facts_are_written_as_the_standard_library_writes_them(value: Any) -> None:
    doc = {"session": {"age_seconds": value, "note": 'é\u2028\x1f"\\'}, "list": [None, value]}
    try:
        expected = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN and infinities are refused, as before
        with pytest.raises(ValueError, match="not JSON compliant"):
            jsonio.dumps_compact(doc)
        return
    assert jsonio.dumps_compact(doc) == expected


def test_a_lone_surrogate_is_written_as_the_standard_library_writes_it() -> None:
    doc = {"a": "\ud800"}
    assert jsonio.dumps_compact(doc) == json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def test_an_integer_beyond_64_bits_read_as_an_id_stays_an_integer() -> None:
    # orjson reads it as a float, which the profile would refuse as an id
    line = (
        '{"@timestamp":"2026-03-02T09:00:00Z","event":{"id":"e1"},"session":{"id":123456789012345678901234}}'
    )
    _, outputs = run([line])
    assert outputs[0].dead is None
    assert outputs[0].facts is not None
    assert outputs[0].facts["session"]["id"] == "123456789012345678901234"


def test_a_whole_document_written_again_keeps_its_big_integers() -> None:
    line = (
        '{"@timestamp":"2026-03-02T09:00:00Z","event":{"id":"e1"},'
        + '"n":123456789012345678901234,"sessionwatch":1}'
    )
    _, outputs = run([line])
    assert json.loads(outputs[0].text())["n"] == 123456789012345678901234


def test_a_shipped_event_comes_back_whole() -> None:
    values: dict[str, Any] = {}
    for number, f in enumerate(dataclasses.fields(CanonicalEvent)):
        values[f.name] = float(number) if f.name in {"timestamp"} else f"value-{f.name}"
    values["doc"] = {"kept": True}
    event = CanonicalEvent(**values)
    item = engine_module.Released(1, event, {"x": 1}, "{}")
    from sessionwatch.enrichers.parallel import _shipped

    fields, _ = _shipped()
    assert unship(fields(item.event), event.doc) == event


def test_workers_on_the_workload_write_the_same_bytes_as_one_process() -> None:
    lines = _workload(2000)
    assert _enrich(lines, workers=2) == _enrich(lines, workers=1)


class _Exploding:
    """A plugin enricher that declares what it produces and must not run when not needed."""

    name = "exploding"
    scope = "session"
    produces = frozenset({"sessionwatch.extra.boom"})

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("ran although nobody reads its fact")


def test_an_enricher_whose_facts_nobody_reads_is_not_run() -> None:
    line = '{"@timestamp":"2026-03-02T09:00:00Z","event":{"id":"e1"},"session":{"id":"s1"}}'
    profiles = ProfileRegistry.discover()
    enrichers = [*discover_enrichers(), _Exploding()]
    wanted = EngineOptions(facts=frozenset({"sessionwatch.session.age_seconds"}))
    outputs = list(engine_module.Engine(profiles, enrichers, options=wanted).process([line]))
    assert outputs[0].facts is not None
    assert outputs[0].facts["session"]["age_seconds"] == 0
    everything = list(engine_module.Engine(profiles, enrichers).process([line]))
    assert everything[0].dead is not None  # run when every fact is wanted: the event fails
    assert "nobody reads" in everything[0].dead.reason


def _leaves(facts: dict[str, Any]) -> dict[str, Any]:
    return {f"{group}.{leaf}": value for group, inner in facts.items() for leaf, value in inner.items()}


@pytest.mark.parametrize("workers", [1, 2])
def test_requested_facts_are_the_full_output_less_the_enrichers_not_needed(workers: int) -> None:
    lines = _workload(1500)
    wanted = frozenset({"sessionwatch.session.idle_seconds", "sessionwatch.token.revoked"})
    full = [_leaves(json.loads(line)["sessionwatch"]) for line in _enrich(lines)]
    some = [_leaves(json.loads(line)["sessionwatch"]) for line in _enrich(lines, workers, facts=wanted)]
    needed = {"session_clock", "token_clock", "profile", "engine"}
    skipped = tuple(f.name.removeprefix("sessionwatch.") for f in FACTS if f.source not in needed)
    assert len(full) == len(some)
    for whole, part in zip(full, some, strict=True):
        # what is computed is unchanged; what only skipped enrichers produce is absent
        assert part == {k: v for k, v in whole.items() if k not in skipped}
    assert any("session.idle_seconds" in part for part in some)
    assert any(k in skipped for whole in full for k in whole)


def test_enrich_computes_only_the_facts_of_the_enabled_rules_when_asked(tmp_path: Path) -> None:
    # only an idle-timeout rule on: the binding, account and request-pattern enrichers do not run
    (tmp_path / "sessionwatch.toml").write_text("policies = []\n\n[rules.pci-dss-idle-15m]\nenabled = true\n")
    source = tmp_path / "in.ndjson"
    source.write_text("\n".join(_workload(400)) + "\n", encoding="utf-8")
    outputs = {}
    for choice in ("all", "enabled"):
        done = enrich(str(source), "-o", f"{choice}.ndjson", "--facts", choice, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        lines = (tmp_path / f"{choice}.ndjson").read_text(encoding="utf-8").splitlines()
        outputs[choice] = [_leaves(json.loads(line)["sessionwatch"]) for line in lines]
    assert any(k.startswith("ip.") for whole in outputs["all"] for k in whole)
    assert not any(
        k.startswith(("ip.", "device.fingerprint", "account.")) for p in outputs["enabled"] for k in p
    )
    for whole, part in zip(outputs["all"], outputs["enabled"], strict=True):
        assert part == {k: v for k, v in whole.items() if k in part}
        assert "session.idle_seconds" in part or "session.idle_seconds" not in whole
