"""The parent of a partitioned run hands out a binary input in blocks of whole lines (an input
file: in byte ranges, which the workers read themselves), which the workers split: the lines,
their numbers and the output are those of iterating the input."""

from __future__ import annotations

import fcntl
import io
import multiprocessing
import os
from pathlib import Path
from typing import Any, cast

import pytest

from sessionwatch.enrichers import (
    parallel,
    parallel_front,
)
from sessionwatch.enrichers.parallel_worker import block_lines, read_block
from tests.unit.test_enrich_engine import _mixed_stream
from tests.unit.written_lines import enrich_lines

INPUTS = {
    "no newline at the end": b'{"a": 1}\n{"b": 2}',
    "newline at the end": b'{"a": 1}\n{"b": 2}\n',
    "blank lines": b"\n\n{}\n   \n\n",
    "crlf": b'{"a": 1}\r\n\r\n{"b": 2}\r\n',
    "a line longer than a block": b'{"long": "' + b"x" * 40 + b'"}\n{"short": 1}\n' + b"y" * 33,
    "one line, no newline": b"z" * 50,
    "empty": b"",
}


@pytest.mark.parametrize("data", INPUTS.values(), ids=INPUTS.keys())
@pytest.mark.parametrize("block", [1, 7, 1 << 17])
def test_blocks_of_a_stream_hold_its_lines_whole(
    data: bytes, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel_front, "BLOCK", block)
    found: list[bytes | str] = []
    for lines in parallel_front._blocks(io.BytesIO(data), None):
        assert isinstance(lines, bytes)
        assert lines  # no empty block is sent
        found.extend(block_lines(lines))
    assert found == list(io.BytesIO(data))  # each line as iterating the stream gives it


@pytest.mark.parametrize("data", INPUTS.values(), ids=INPUTS.keys())
@pytest.mark.parametrize("block", [1, 7, 1 << 17])
@pytest.mark.parametrize("skipped", [0, 1])
def test_byte_ranges_of_a_file_give_each_line_once_whole(
    data: bytes, block: int, skipped: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ranges a worker reads (``read_block``): every line of the file from where the reader
    stands, in order, each in the range holding its first byte, none cut."""
    monkeypatch.setattr(parallel_front, "BLOCK", block)
    path = tmp_path / "in.ndjson"
    path.write_bytes(data)
    with path.open("rb") as handle:
        for _ in range(skipped):  # a reader that already took a line: the file from there
            handle.readline()
        at = handle.tell()
        expected = list(handle)
        handle.seek(at)
        source = parallel_front.input_file(handle)
        assert source is not None
        found: list[bytes | str] = []
        for start, end in cast(Any, parallel_front._blocks(handle, source)):
            found.extend(block_lines(read_block(source, start, end)))
    assert found == expected


def test_a_pipe_or_an_iterable_is_no_input_file(tmp_path: Path) -> None:
    assert parallel_front.input_file(io.BytesIO(b"{}\n")) is None
    assert parallel_front.input_file(["{}"]) is None
    read, write = os.pipe()
    with os.fdopen(read, "rb") as pipe:
        os.close(write)
        assert parallel_front.input_file(pipe) is None
    with (tmp_path / "in.ndjson").open("w", encoding="utf-8") as text:
        assert parallel_front.input_file(cast(Any, text)) is None  # not read as bytes


def test_an_iterable_of_lines_is_handed_out_as_lists() -> None:
    lines = [f'{{"n": {i}}}' for i in range(600)]
    chunks = list(parallel_front._blocks(lines, None))
    assert [len(chunk) for chunk in chunks] == [256, 256, 88]
    assert [line for chunk in chunks for line in cast(list[str], chunk)] == lines


@pytest.mark.parametrize("kind", ["stream", "file"])
def test_a_binary_input_in_blocks_gives_what_one_process_gives(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of a few hundred bytes (lines cut across reads), CRLF and blank lines, a line that
    is not UTF-8, a malformed one: the same output lines, dead letters (with their line
    numbers) and counts as one process iterating the same bytes, from a stream (the parent
    reads it) and from a file (the workers read their ranges of it)."""
    lines = _mixed_stream(800, seed=11)
    lines[5] = lines[5] + "\r"  # CRLF
    lines[40:40] = ["", "   "]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    data += b'{"@timestamp": "2026-03-02T10:00:00Z", "bad": "\xff"}\n{"cut": \n'
    monkeypatch.setattr(parallel_front, "BLOCK", 300)
    one, dead_one, result_one = enrich_lines(io.BytesIO(data), 1)
    if kind == "file":
        (tmp_path / "in.ndjson").write_bytes(data)
        with (tmp_path / "in.ndjson").open("rb") as handle:
            assert parallel_front.input_file(handle) is not None
            two, dead_two, result_two = enrich_lines(handle, 2)
    else:
        two, dead_two, result_two = enrich_lines(io.BytesIO(data), 2)
    assert len(one) > 700
    assert {d.reason.split(" ")[0] for d in dead_one} >= {"invalid", "malformed"}
    assert two == one
    assert dead_two == dead_one
    assert result_two.counts == result_one.counts
    assert result_two.counts.conserved


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are a Linux feature")
def test_the_channels_pipes_hold_a_whole_message() -> None:
    """A block's answer with its output lines is a few hundred KiB: the pipe between the
    processes holds it whole (one write, one read) instead of 64 KiB at a time."""
    channel: Any = multiprocessing.get_context("fork").Queue()
    parallel._widen(channel)
    assert fcntl.fcntl(channel._writer.fileno(), fcntl.F_GETPIPE_SZ) == parallel.PIPE_BYTES
    channel.close()
