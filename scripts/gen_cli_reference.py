"""Write docs/cli.md from the ``sessionwatch`` argparse parser itself.

    .venv/bin/python scripts/gen_cli_reference.py          # regenerate docs/cli.md
    .venv/bin/python scripts/gen_cli_reference.py --check  # exit 1 when it is out of date

A unit test (tests/unit/test_reports_cli_doc.py) fails when the committed file differs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REGENERATE = ".venv/bin/python scripts/gen_cli_reference.py"
TARGET = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
WIDTH = "100"  # argparse wraps usage lines to $COLUMNS: fix it so the output is reproducible

HEADER = f"""\
# CLI reference

<!-- Generated from the argparse parser by `{REGENERATE}`; do not edit by hand. -->

`sessionwatch COMMAND [OPTIONS]`, also `python -m sessionwatch`.

Exit codes: **0** ok, **1** findings or failures (invalid rules, failing cases, alerts found),
**2** usage or environment error (bad arguments, Elasticsearch unreachable, a plugin that
does not load). User mistakes print as `path:line:col: message`, never as a traceback.
"""


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of each command, in the order they are registered."""
    for action in parser._actions:  # argparse has no public accessor for sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _argument_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            name = ", ".join(f"`{o}`" for o in action.option_strings)
            if action.nargs != 0:
                name += f" `{action.metavar or action.dest.upper()}`"
        else:
            name = f"`{action.metavar or action.dest}`"
        details = action.help or ""
        if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
            details += " (one of: " + ", ".join(f"`{c}`" for c in action.choices) + ")"
        if action.required and action.option_strings:
            details += " **required**"
        default = action.default
        shown = default not in (None, False, [], argparse.SUPPRESS) and "default" not in details
        if shown and action.option_strings:
            details += f" (default: `{default}`)"
        rows.append(f"| {name} | {_cell(details)} |")
    return rows


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line without its ``usage: `` prefix (continuation lines dedented to match)."""
    prefix = "usage: "
    lines = parser.format_usage().rstrip().splitlines()
    return "\n".join([lines[0].removeprefix(prefix), *(line[len(prefix) :] for line in lines[1:])])


def render() -> str:
    """The Markdown reference of the current parser."""
    from sessionwatch.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        return _render(build_parser())
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _render(parser: argparse.ArgumentParser) -> str:
    commands = _subcommands(parser)
    parts = [HEADER, "| command | what it does |", "|---|---|"]
    parts += [f"| [`{name}`](#sessionwatch-{name}) | {_cell(text)} |" for name, text, _ in commands]
    for name, text, sub in commands:
        usage = _usage(sub)
        parts += ["", f"## sessionwatch {name}", "", f"{text[:1].upper()}{text[1:]}.", ""]
        parts += ["```", usage, "```", ""]
        rows = _argument_rows(sub)
        if rows:
            parts += ["| argument | meaning |", "|---|---|", *rows]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_known_args(argv)[1]
    text = render()
    if "--check" in args:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
