"""Broken rule files: every outcome is a located error (file, line, column, pointer), never a traceback.

Two families: a hand-made corpus (``corpus/``, expectations in ``corpus/EXPECTED.txt``) of broken
YAML, unsafe YAML and schema violations; and mutations of every shipped rule (keys deleted,
duplicated or retyped, the file truncated, tabs and random bytes inserted), drawn by Hypothesis
for the loader and the in-process CLI, and by a seeded generator for one ``sessionwatch
validate`` subprocess over a few hundred files.
"""

from __future__ import annotations

import io
import random
import re
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sessionwatch.cli import main
from sessionwatch.rules import RuleErrors, load_rule_file
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.model import Rule

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
PACK = HERE.parents[1] / "rules" / "pack"
PACK_FILES = sorted(p for p in PACK.rglob("*.yml") if p.is_file())
# one rule per kind (the first of each folder): mutations are about the file format, not the pack
PER_KIND = sorted({p.parent: p for p in reversed(PACK_FILES)}.values())
CLI = Path(sys.executable).with_name("sessionwatch")
EXAMPLES_MUTATION_LOADER = 120
EXAMPLES_MUTATION_CLI = 25
MUTANTS_SUBPROCESS = 200


@dataclass(frozen=True)
class Expected:
    file: str
    line: int
    column: int
    pointer: str
    text: str


def _expectations() -> list[Expected]:
    found = []
    for raw in (CORPUS / "EXPECTED.txt").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        file, where, pointer, text = (part.strip() for part in raw.split(" | "))
        line, column = (int(x) for x in where.split(":"))
        found.append(Expected(file, line, column, "" if pointer == "-" else pointer, text))
    return found


EXPECTED = _expectations()


def assert_located(errors: list[SessionwatchError], path: Path, data: bytes) -> None:
    """Each error names ``path`` and a line and column inside it."""
    lines = data.count(b"\n") + 1
    for error in errors:
        where = error.location
        assert where is not None, f"no location: {error}"
        assert where.path == str(path), str(error)
        assert 1 <= where.line <= lines + 1, str(error)
        assert where.column >= 1, str(error)
        assert where.pointer == "" or where.pointer.startswith("/"), str(error)


def load_outcome(path: Path) -> Rule | RuleErrors:
    """The rule, or the located errors; any other exception fails the test that called this."""
    try:
        return load_rule_file(path)
    except RuleErrors as exc:
        return exc


def test_corpus_has_an_expectation_per_file() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.yml"))
    assert files == sorted(e.file for e in EXPECTED)


@pytest.mark.parametrize("expected", EXPECTED, ids=[e.file for e in EXPECTED])
def test_corpus_file_fails_with_a_located_error(expected: Expected) -> None:
    path = CORPUS / expected.file
    started = time.process_time()
    outcome = load_outcome(path)
    assert time.process_time() - started < 2.0, "must fail fast"
    assert isinstance(outcome, RuleErrors), f"{expected.file} loaded"
    assert_located(outcome.errors, path, path.read_bytes())
    hits = [
        e
        for e in outcome.errors
        if e.location is not None
        and (e.location.line, e.location.column, e.location.pointer)
        == (expected.line, expected.column, expected.pointer)
        and expected.text in e.message
    ]
    assert hits, [str(e) for e in outcome.errors]


def test_corpus_through_the_cli(tmp_path: Path) -> None:
    """One ``sessionwatch validate`` over the whole corpus, run from elsewhere, as a user would."""
    result = subprocess.run(
        [str(CLI), "validate", str(CORPUS)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    for expected in EXPECTED:
        prefix = f"{CORPUS / expected.file}:{expected.line}:{expected.column}: "
        lines = result.stderr.splitlines()
        assert any(line.startswith(prefix) and expected.text in line for line in lines), prefix


# --- mutations -------------------------------------------------------------------------------

RETYPES = (
    b"[]",
    b"{}",
    b"1",
    b"-7.5e300",
    b"true",
    b"null",
    b"~",
    b"''",
    b"[a, {b: c}]",
    b"{a: [1]}",
    b"!!python/object/apply:os.system ['id']",
    b"!!binary aGk=",
    b"!!int 0xZZ",
    b"&anchor x",
    b"*anchor",
    b'"\\u0000"',
    b"|\n  block",
    b"2026-03-02T10:00:00Z",
)


@dataclass(frozen=True)
class Mutation:
    op: str
    at: int  # a line index or a byte offset, reduced modulo the size of the target
    payload: bytes = b""

    def apply(self, data: bytes) -> bytes:
        lines = data.split(b"\n")
        i = self.at % max(len(lines), 1)
        if self.op == "delete-line":
            del lines[i]
        elif self.op == "duplicate-line":
            lines.insert(i, lines[i])
        elif self.op == "retype-value":
            key, sep, _ = lines[i].partition(b": ")
            lines[i] = key + b": " + self.payload if sep else lines[i] + b": " + self.payload
        elif self.op == "indent-line":
            lines[i] = b" " * (1 + self.at % 5) + lines[i]
        elif self.op == "dedent-line":
            lines[i] = lines[i].lstrip(b" ")
        elif self.op == "swap-lines":
            j = (self.at // 7) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        else:
            offset = self.at % (len(data) + 1)
            if self.op == "truncate":
                return data[:offset]
            if self.op == "insert-tab":
                return data[:offset] + b"\t" + data[offset:]
            return data[:offset] + self.payload + data[offset:]  # insert-bytes
        return b"\n".join(lines)


OPS = (
    "delete-line",
    "duplicate-line",
    "retype-value",
    "indent-line",
    "dedent-line",
    "swap-lines",
    "truncate",
    "insert-tab",
    "insert-bytes",
)


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    op = draw(st.sampled_from(OPS))
    at = draw(st.integers(min_value=0, max_value=1 << 20))
    payload = b""
    if op == "retype-value":
        payload = draw(st.sampled_from(RETYPES))
    elif op == "insert-bytes":
        payload = draw(st.binary(min_size=1, max_size=8))
    return Mutation(op, at, payload)


def random_mutation(rng: random.Random) -> Mutation:
    op = rng.choice(OPS)
    payload = b""
    if op == "retype-value":
        payload = rng.choice(RETYPES)
    elif op == "insert-bytes":
        payload = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return Mutation(op, rng.randrange(1 << 20), payload)


def mutate(data: bytes, steps: list[Mutation]) -> bytes:
    for step in steps:
        data = step.apply(data)
    return data


@pytest.mark.parametrize("rule_file", PER_KIND, ids=[p.stem for p in PER_KIND])
@settings(max_examples=EXAMPLES_MUTATION_LOADER, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(mutations(), min_size=1, max_size=3))
def test_mutated_rule_loads_or_fails_located(rule_file: Path, steps: list[Mutation]) -> None:
    data = mutate(rule_file.read_bytes(), steps)
    for step in steps:
        event(f"op {step.op}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / rule_file.name
        path.write_bytes(data)
        outcome = load_outcome(path)
        event("outcome: loaded" if isinstance(outcome, Rule) else "outcome: located error")
        if isinstance(outcome, RuleErrors):
            assert outcome.errors
            assert_located(outcome.errors, path, data)


def _located_line(line: str, folder: Path) -> bool:
    return re.match(re.escape(str(folder)) + r"/[^:]+:\d+:\d+: ", line) is not None


@pytest.mark.parametrize("rule_file", PER_KIND, ids=[p.stem for p in PER_KIND])
@settings(max_examples=EXAMPLES_MUTATION_CLI, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(mutations(), min_size=1, max_size=3))
def test_mutated_rule_through_cli_main(rule_file: Path, steps: list[Mutation]) -> None:
    """``sessionwatch validate`` in-process: an exit code, located messages, nothing escapes."""
    data = mutate(rule_file.read_bytes(), steps)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / rule_file.name).write_bytes(data)
        err, out = io.StringIO(), io.StringIO()
        with redirect_stderr(err), redirect_stdout(out):
            code = main(["validate", str(folder)])
        assert code in (0, 1, 2)
        if code != 0:
            assert any(_located_line(line, folder) for line in err.getvalue().splitlines()), err.getvalue()


def test_mutants_through_a_cli_subprocess(tmp_path: Path) -> None:
    """A few hundred seeded mutants (each in its own folder), one ``sessionwatch validate`` run."""
    rng = random.Random(8)
    sources = [(p, p.read_bytes()) for p in PACK_FILES]
    mutants = tmp_path / "mutants"
    for n in range(MUTANTS_SUBPROCESS):
        source, data = sources[n % len(sources)]
        steps = [random_mutation(rng) for _ in range(rng.randint(1, 3))]
        folder = mutants / f"m{n:03d}"
        folder.mkdir(parents=True)
        (folder / source.name).write_bytes(mutate(data, steps))
    result = subprocess.run(
        [str(CLI), "validate", str(mutants)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (1, 2), result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    located = [line for line in result.stderr.splitlines() if _located_line(line, mutants)]
    assert len(located) >= MUTANTS_SUBPROCESS // 2, result.stderr[-2000:]


# --- YAML bombs and limits ---------------------------------------------------------------------


def test_nested_billion_laughs_fails_fast(tmp_path: Path) -> None:
    """20 levels of 10 aliases each: 10**20 nodes if expanded; refused at the first alias."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{','.join(['*l' + str(i - 1)] * 10)}]" for i in range(1, 21)]
    path = tmp_path / "laughs.yml"
    path.write_text("\n".join(lines) + "\n")
    started = time.process_time()
    outcome = load_outcome(path)
    assert time.process_time() - started < 1.0
    assert isinstance(outcome, RuleErrors)
    assert len(outcome.errors) <= 21  # one per anchor, not one per alias
    assert_located(outcome.errors, path, path.read_bytes())


def test_depth_check_ignores_brackets_in_strings_and_comments(tmp_path: Path) -> None:
    """The fast flow-depth check counts only brackets YAML would nest: quoted ones and comments pass."""
    source = PACK_FILES[0].read_text(encoding="utf-8")
    text = source.replace("\ntitle: ", "\n# " + "[" * 100 + "\ntitle: ", 1)
    text += "references_extra: '" + "[{" * 100 + "'\n"
    path = tmp_path / PACK_FILES[0].name
    path.write_text(text, encoding="utf-8")
    outcome = load_outcome(path)
    assert isinstance(outcome, RuleErrors)
    assert [e.message for e in outcome.errors] == ["unknown field 'references_extra'"]


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text("title: " + "x" * 1_200_000 + "\n")
    started = time.process_time()
    outcome = load_outcome(path)
    assert time.process_time() - started < 1.0
    assert isinstance(outcome, RuleErrors)
    (error,) = outcome.errors
    assert "larger than" in error.message


def test_python_tags_on_every_node_kind_are_refused(tmp_path: Path) -> None:
    """Extends tests/unit/test_loader.py (scalar tag): tags on mappings, sequences, keys; none runs."""
    marker = tmp_path / "pwned"
    cases = {
        "mapping": f"a: !!python/object/apply:os.system {{args: ['touch {marker}']}}\n",
        "sequence": f"a: !!python/object/apply:os.system ['touch {marker}']\n",
        "new": f"a: !!python/object/new:os.system ['touch {marker}']\n",
        "module": "a: !!python/module:os\n",
        "key": f"? !!python/object/apply:os.system ['touch {marker}']\n: 1\n",
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(text)
        outcome = load_outcome(path)
        assert isinstance(outcome, RuleErrors), name
        assert_located(outcome.errors, path, text.encode())
    assert not marker.exists()


def test_corpus_copy_with_crlf_line_ends_is_located_the_same(tmp_path: Path) -> None:
    """Windows line ends do not shift the reported lines."""
    source = CORPUS / "duplicate-key.yml"
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes().replace(b"\n", b"\r\n"))
    outcome = load_outcome(path)
    assert isinstance(outcome, RuleErrors)
    assert [(e.location.line, e.location.column) for e in outcome.errors if e.location] == [(11, 1)]
