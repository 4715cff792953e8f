"""Measurement 5: render 1 000 rules to every target in ``sessionwatch.renderer.TARGETS``.

The 1 000 rules are variants of the installed pack's rules (new id and name, every duration
parameter scaled by 1-7x), written as YAML and loaded through the normal loader, so loading and
schema validation are timed too. Rendering is timed in-process (``render()`` per rule and
target) and end to end (``sessionwatch render --target T --out DIR``, one process per target).
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from bench.common import Section, banner, data_dir, run, sessionwatch_cli
from sessionwatch.renderer import TARGETS, render
from sessionwatch.rule_sources import installed_packs, load_selected
from sessionwatch.rules.errors import RenderError

DURATION = re.compile(r"^(\d+)([smhdw])$")
NAMESPACE = uuid.UUID("6f0c7a52-1c8e-4f43-9d1b-5e0a3c2b7d11")


def _scale(value: Any, factor: int) -> Any:
    if isinstance(value, str):
        match = DURATION.match(value)
        if match:
            return f"{int(match.group(1)) * factor}{match.group(2)}"
    return value


def write_variants(count: int, folder: Path) -> int:
    """``count`` rule files built from the installed pack's rules; returns how many sources."""
    sources = sorted(p for pack in installed_packs() for p in pack.rglob("*.yml"))
    if folder.exists():
        shutil.rmtree(folder)
    for i in range(count):
        source = sources[i % len(sources)]
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        factor = 1 + i % 7
        data["id"] = str(uuid.uuid5(NAMESPACE, f"variant-{i}"))
        data["name"] = f"{data['name']}-v{i:04d}"
        data["params"] = {k: _scale(v, factor) for k, v in (data.get("params") or {}).items()}
        target = folder / source.parent.name / f"{data['name']}.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return len(sources)


def rendering(count: int) -> Section:
    section = Section("render")
    banner(f"5. rendering {count:,} rules to every target ({', '.join(sorted(TARGETS))})")
    folder = data_dir() / f"rules-{count}"
    sources = write_variants(count, folder)
    section.put("source_rules", sources, "pack rules the variants come from")
    started, cpu = time.perf_counter(), time.process_time()
    rules = load_selected([str(folder)])
    section.put("load_and_validate_cpu_s", round(time.process_time() - cpu, 2), "its CPU time s")
    section.put(
        "load_and_validate_s", round(time.perf_counter() - started, 2), f"load + validate {count} rules s"
    )
    total = cpu_total = 0.0
    refused_by_target: dict[str, set[Path]] = {}
    for target in sorted(TARGETS):
        refused_files = refused_by_target.setdefault(target, set())
        started, cpu = time.perf_counter(), time.process_time()
        for rule in rules:
            try:
                render(rule, target)
            except RenderError:  # a target may refuse a kind it cannot express (documented)
                refused_files.add(rule.source)
        refused = len(refused_files)
        seconds = time.perf_counter() - started
        cpu_total += time.process_time() - cpu
        total += seconds
        section.put(f"in_process_{target}_s", round(seconds, 2), f"render() to {target}, {count} rules, s")
        if refused:
            section.put(f"refused_{target}", refused, f"rules the {target} target refuses")
    section.put("in_process_all_targets_s", round(total, 2), f"all targets, {count} rules, in-process s")
    section.put("in_process_all_targets_cpu_s", round(cpu_total, 2), "its CPU time s")
    cli_total = 0.0
    out = data_dir() / "rendered"
    for target in sorted(TARGETS):
        shutil.rmtree(out, ignore_errors=True)
        selected = folder
        if refused_by_target[target]:  # the CLI stops at a refused rule: give it the others
            selected = data_dir() / f"rules-{count}-{target}"
            shutil.rmtree(selected, ignore_errors=True)
            shutil.copytree(folder, selected)
            for path in refused_by_target[target]:
                (selected / path.relative_to(folder)).unlink()
        timed = run([*sessionwatch_cli(), "render", str(selected), "--target", target, "--out", str(out)])
        if timed.returncode not in (0, 1):
            raise RuntimeError(f"render --target {target} failed: {timed.stderr}")
        if timed.returncode == 1:
            section.note(f"render --target {target} exited 1: {timed.stderr.strip().splitlines()[-1]}")
        cli_total += timed.wall
        section.put(f"cli_{target}_s", round(timed.wall, 2), f"sessionwatch render --target {target} s")
        section.put(f"cli_{target}_cpu_s", round(timed.cpu, 2), "its CPU time s")
    section.put("cli_all_targets_s", round(cli_total, 2), "all targets through the CLI s")
    shutil.rmtree(out, ignore_errors=True)
    return section
