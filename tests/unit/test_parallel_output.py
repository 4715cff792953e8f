"""Workers that write their output lines into the output file themselves (``parallel_output``):
only into a regular file opened for writing in UTF-8 without appending; anywhere else the
parent writes through ``write``. Either way the bytes are those one process writes, from where
the file stood, and the file stands after them at the end."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from array import array
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import DeadLetter
from sessionwatch.enrichers.parallel import direct_output, run
from sessionwatch.enrichers.parallel_output import Returned, Unwritten
from tests.unit.test_enrich_engine import _mixed_stream


class CountingFile(io.TextIOWrapper):
    """A text file that counts the calls of its ``write`` (the parent's way of writing)."""

    calls = 0

    def write(self, text: str) -> int:
        self.calls += 1
        return super().write(text)


def _lines() -> list[str]:
    """A mixed stream (bad lines, unclaimed lines passed through) with lines that are not ASCII."""
    lines = _mixed_stream(3000, seed=5)
    for at in range(0, len(lines), 7):
        if lines[at].startswith('{"@timestamp"'):
            doc = json.loads(lines[at])
            doc.setdefault("user", {})["name"] = f"zoë-{at % 3}"  # written as is: 2 bytes for ë
            doc["note"] = "café ☕"
            lines[at] = json.dumps(doc, ensure_ascii=False)
    return lines


def _enrich(lines: list[str], workers: int, out: Any, write: Any = None) -> tuple[list[DeadLetter], Any]:
    dead: list[DeadLetter] = []
    result = run(
        [line.encode("utf-8") + b"\n" for line in lines],
        out.write if write is None else write,
        dead.append,
        profiles=ProfileRegistry.discover(),
        enrichers=discover_enrichers(),
        options=EngineOptions(reorder_window=20.0),
        workers=workers,
        output=out,
    )
    return dead, result


def _open(path: Path, mode: str) -> CountingFile:
    return CountingFile(open(path, mode + "b"), encoding="utf-8")


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_write_their_lines_into_a_regular_file_themselves(tmp_path: Path, workers: int) -> None:
    """From where the file stands (a header written before), the bytes of one process, dead
    letters and counts alike; the parent never calls ``write``; afterwards the file stands
    after the output, so what is written next follows it."""
    lines = _lines()
    with _open(tmp_path / "one.ndjson", "w") as one:
        dead_one, result_one = _enrich(lines, 1, one)
    expected = (tmp_path / "one.ndjson").read_bytes()
    assert "zoë".encode() in expected
    with _open(tmp_path / "two.ndjson", "w") as two:
        two.write("header\n")
        two.calls = 0
        dead_two, result_two = _enrich(lines, workers, two)
        assert two.calls == 0  # the workers wrote every line
        assert two.tell() == len(b"header\n") + len(expected)
        two.write("after\n")
    assert (tmp_path / "two.ndjson").read_bytes() == b"header\n" + expected + b"after\n"
    assert dead_two == dead_one
    assert result_two.counts == result_one.counts
    assert result_one.counts.passed_through > 0
    assert result_one.counts.dead_letter > 0


@pytest.mark.parametrize("case", ["appending", "another write", "latin-1"])
def test_elsewhere_the_parent_writes_through_write(tmp_path: Path, case: str) -> None:
    """A file opened for appending (``pwrite`` would not write where it is told), a ``write``
    that is not the file's own, a file in another encoding: the parent writes every line
    through ``write``, and the bytes are those of one process."""
    lines = _lines()
    with _open(tmp_path / "one.ndjson", "w") as one:
        _enrich(lines, 1, one)
    path = tmp_path / "two.ndjson"
    path.write_bytes(b"header\n")
    encoding, errors = ("latin-1", "replace") if case == "latin-1" else ("utf-8", "strict")
    mode = "ab" if case == "appending" else "r+b"
    with CountingFile(open(path, mode), encoding=encoding, errors=errors) as two:
        two.seek(0, os.SEEK_END)
        write = (lambda text: two.write(text)) if case == "another write" else two.write
        assert direct_output(two, write) is None
        assert direct_output(two, two.write) is None or case == "another write"
        _enrich(lines, 2, two, write)
        assert two.calls > 0
    expected = (tmp_path / "one.ndjson").read_text(encoding="utf-8").encode(encoding, errors)
    assert path.read_bytes() == b"header\n" + expected


def test_a_pipe_is_no_file_to_write_into(tmp_path: Path) -> None:
    read, write = os.pipe()
    with os.fdopen(read, "rb"), open(write, "w", encoding="utf-8") as pipe:
        assert direct_output(pipe, pipe.write) is None
    with (tmp_path / "out").open("w", encoding="utf-8") as file:
        assert direct_output(file, file.write) == (file.fileno(), 0)
        assert direct_output(None, file.write) is None


def test_a_worker_writes_each_line_where_the_parent_places_it(tmp_path: Path) -> None:
    """Lengths in bytes (not characters) go to the parent, which takes them in runs and names
    (offset, count) places; dead letters (empty) take no room."""
    path = tmp_path / "out"
    path.write_bytes(b"." * 40)
    fd = os.open(path, os.O_WRONLY)
    try:
        mine = Unwritten(fd)
        sent = [mine.keep(["é\n", "", "ab\n"]), mine.keep(["xyz\n"])]
        assert [list(lengths) for _, lengths in sent] == [[3, 0, 3], [4]]
        returned = Returned()
        letter = DeadLetter(1, "no", "x")
        returned.add(sent[0], [letter])
        returned.add(sent[1], [])
        dead: list[DeadLetter] = []
        assert returned.take(2, None, dead) == (2, 3)  # "é\n" and the dead letter
        assert dead == [letter]
        assert returned.take(5, None, dead) == (2, 7)  # all there is
        mine.write(array("q", [10, 2, 30, 2]))
    finally:
        os.close(fd)
    assert path.read_bytes() == b"." * 10 + "é\n".encode() + b"." * 17 + b"ab\nxyz\n" + b"." * 3


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_that_cannot_grow_stops_the_run_as_in_one_process(tmp_path: Path, workers: int) -> None:
    """Writing into the output fails (here a file size limit; a full disk alike): the run raises
    the ``OSError`` one process raises (``enrich`` says "I/O: File too large" and exits 2), and
    no worker prints a traceback. (Every line here is enriched: the workers write them all.)"""
    script = textwrap.dedent(
        f"""
        import errno, resource, sys
        from tests.unit.test_parallel_output import _enrich, _lines, _open

        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
        try:
            with _open(sys.argv[1], "w") as out:
                _enrich([x for x in _lines() if "unclaimed" not in x], {workers}, out)
        except OSError as exc:
            print("raised:", errno.errorcode[exc.errno], exc.strerror)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "out.ndjson")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "raised: EFBIG File too large" in done.stdout
    assert "Traceback" not in done.stderr
