"""The ``sessionwatch`` command for the tests: in this process (default) or in a subprocess.

A new interpreter spends 0.5-1 s of CPU importing the CLI before it does anything, and the suite
runs the command hundreds of times. ``run_sessionwatch`` calls ``sessionwatch.cli.main(argv)`` in
the test's process instead, set up as a fresh process would see it: its own working directory,
environment, ``sys.argv``, stdin, stdout and stderr (captured, not terminals), warning filters,
root logging (no handler, so ``logging.basicConfig`` writes to the captured stderr), SIGTERM /
SIGINT handlers and the redaction state a process starts with (no registered secret, no warning
given yet, no log record factory installed); all of it is restored afterwards. ``SystemExit``
becomes the exit code; any other exception that escapes ``main`` is printed as a traceback on the
captured stderr with exit code 1, as the interpreter does.

What only a real process shows stays a subprocess (``process=True``): signals sent to it, its
start-up (environment read before anything is imported, the console script), a hang stopped by
``timeout``, and the commands that fork workers (``--workers``). ``SESSIONWATCH_TEST_CLI=process``
runs every call in a subprocess, to check that both ways give the same results.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

CLI = Path(sys.executable).with_name("sessionwatch")
_LOCK = threading.Lock()  # one in-process command at a time (the process state is shared)
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def in_subprocess_by_default() -> bool:
    return os.environ.get("SESSIONWATCH_TEST_CLI", "").strip().lower() == "process"


def run_sessionwatch(
    args: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 300,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``sessionwatch *args`` with stdout and stderr captured as text, like
    ``subprocess.run([CLI, *args], capture_output=True, text=True, check=False)``.

    ``env`` replaces the whole environment (as for ``subprocess.run``); None keeps this one."""
    argv = [str(a) for a in args]
    if process or in_subprocess_by_default() or _forks_workers(argv):
        return subprocess.run(
            [str(CLI), *argv],
            cwd=cwd,
            env=None if env is None else dict(env),
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    with _LOCK, _fresh_process(argv, cwd, env, input, timeout) as streams:
        code = _call_main(argv)
    stdout, stderr = (_text(stream) for stream in streams)
    return subprocess.CompletedProcess([str(CLI), *argv], code, stdout, stderr)


def _forks_workers(argv: list[str]) -> bool:
    """``enrich --workers N`` forks worker processes: not from inside a test worker."""
    for flag, value in zip(argv, [*argv[1:], ""], strict=True):
        if flag == "--workers" and value != "1":
            return True
        if flag.startswith("--workers=") and flag != "--workers=1":
            return True
    return False


def _call_main(argv: list[str]) -> int:
    from sessionwatch.cli import main

    try:
        return main(argv)
    except SystemExit as exc:  # argparse, sys.exit(): as the interpreter turns them into a status
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # what escapes main() in a process: a traceback on stderr, status 1
        traceback.print_exc(file=sys.stderr)
        return 1


def _stream(data: bytes = b"", errors: str = "strict") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors, write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    """What ``subprocess.run(..., text=True)`` returns: decoded, universal newlines."""
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


@contextlib.contextmanager
def _fresh_process(
    argv: list[str],
    cwd: str | Path | None,
    env: Mapping[str, str] | None,
    input: str | None,
    timeout: float,
) -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    import sessionwatch.cli  # noqa: F401  (imported before the snapshot: loggers libraries make at import stay)
    from sessionwatch import redact

    out, err = _stream(), _stream(errors="backslashreplace")  # as the interpreter's own streams
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_io = (sys.stdin, sys.stdout, sys.stderr, sys.argv)
    saved_signals = {number: signal.getsignal(number) for number in _SIGNALS}
    saved_redact = (set(redact._SECRETS), set(redact._warned), redact._installed)
    saved_factory = logging.getLogRecordFactory()
    saved_logging = _logging_state()
    # a hang ends the test worker (with every thread's stack), not the whole suite
    faulthandler.dump_traceback_later(timeout, exit=True, file=2)  # the real stderr
    root = logging.getLogger()
    for handler in list(root.handlers):  # pytest's capture handlers: a process has none
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    redact._SECRETS.clear()
    redact._warned.clear()
    redact._installed = False
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    sys.stdin = _stream((input or "").encode("utf-8"))
    sys.stdout, sys.stderr = out, err
    sys.argv = [str(CLI), *argv]
    try:
        with warnings.catch_warnings():
            _default_warning_filters()
            yield out, err
    finally:
        faulthandler.cancel_dump_traceback_later()
        sys.stdin, sys.stdout, sys.stderr, sys.argv = saved_io
        os.chdir(saved_cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(saved_env)
        for number, action in saved_signals.items():
            if action is not None:  # None: set outside Python, never changed from here
                signal.signal(number, action)
        redact._SECRETS.clear()
        redact._SECRETS.update(saved_redact[0])
        redact._warned.clear()
        redact._warned.update(saved_redact[1])
        redact._installed = saved_redact[2]
        logging.setLogRecordFactory(saved_factory)
        _restore_logging(saved_logging)


def _default_warning_filters() -> None:
    """The filters of an interpreter started without -W or PYTHONWARNINGS (``warnings.filters``)."""
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)


_LoggerState = tuple[int, bool, bool, list[logging.Handler]]


def _logging_state() -> tuple[dict[str, _LoggerState], _LoggerState, int]:
    loggers = {
        name: (logger.level, logger.disabled, logger.propagate, list(logger.handlers))
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger()
    return (
        loggers,
        (root.level, root.disabled, root.propagate, list(root.handlers)),
        logging.root.manager.disable,
    )


def _restore_logging(state: tuple[dict[str, _LoggerState], _LoggerState, int]) -> None:
    loggers, root_state, disabled = state
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if name in loggers:
            _reset(logger, *loggers[name])
        else:  # made during the call: a library's NullHandler (added at import) stays
            kept = [h for h in logger.handlers if isinstance(h, logging.NullHandler)]
            _reset(logger, logging.NOTSET, False, True, kept)
    _reset(logging.getLogger(), *root_state)
    logging.disable(disabled)


def _reset(logger: logging.Logger, level: int, off: bool, propagate: bool, handlers: list[Any]) -> None:
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    logger.setLevel(level)
    logger.disabled = off
    logger.propagate = propagate
