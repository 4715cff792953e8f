"""A package ready to publish: licence, metadata, ``--version``, and docs that stand on their own."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import elasticsearch
import pytest

import sessionwatch
from sessionwatch.cli import main
from sessionwatch.project import DOCS_URL, REPOSITORY_URL
from sessionwatch.rules.loader import rule_schema


@pytest.fixture(scope="module")
def project(repo_root: Path) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    return data


@pytest.fixture(scope="module")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def test_license_file_is_the_license_pyproject_declares(project: dict[str, Any], repo_root: Path) -> None:
    assert project["license"] == "Apache-2.0"  # an SPDX expression, not a table
    assert project["license-files"] == ["LICENSE"]
    text = (repo_root / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # PEP 639: with a license expression, licence classifiers are an error
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_metadata_for_an_index(project: dict[str, Any]) -> None:
    assert {"Programming Language :: Python :: 3.11", "Topic :: Security", "Typing :: Typed"} <= set(
        project["classifiers"]
    )
    assert "elasticsearch" in project["keywords"]
    urls = project["urls"]
    assert urls["Source"] == REPOSITORY_URL
    assert urls["Documentation"] == DOCS_URL
    assert set(urls) >= {"Homepage", "Documentation", "Source", "Issues", "Changelog"}


def test_version_names_package_schema_packs_and_client(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"sessionwatch {project['version']}"
    assert sessionwatch.__version__ == project["version"] == metadata.version("sessionwatch")
    schema_version = rule_schema()["$id"].rsplit(":", 1)[1]
    assert lines[1] == f"rule schema: {schema_version}"
    pack = re.fullmatch(r"rule packs: builtin (\S+) \(sessionwatch, (\d+) rules\).*", lines[2])
    assert pack is not None, lines[2]
    assert pack.group(1) == project["version"]
    assert int(pack.group(2)) > 10
    assert lines[3] == f"elasticsearch client: {metadata.version('elasticsearch')}"
    assert metadata.version("elasticsearch").startswith(f"{elasticsearch.__version__[0]}.")


OUTSIDE = ("../shared", "DESIGN.md", "ENVIRONMENT.md", "STYLE.md", "/work/")


def _docs(repo_root: Path) -> list[Path]:
    return [repo_root / "README.md", *sorted((repo_root / "docs").glob("*.md"))]


def test_no_doc_refers_to_a_file_outside_the_repository(repo_root: Path) -> None:
    found = [
        f"{path.relative_to(repo_root)}:{n}: {needle}"
        for path in _docs(repo_root)
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        for needle in OUTSIDE
        if needle in line
    ]
    assert found == []


def test_relative_links_in_docs_land_inside_the_repository(repo_root: Path) -> None:
    broken = []
    for path in _docs(repo_root):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            resolved = (path.parent / target).resolve()
            if not resolved.is_relative_to(repo_root) or not resolved.exists():
                broken.append(f"{path.relative_to(repo_root)} -> {target}")
    assert broken == []


def test_architecture_doc_describes_layers_contracts_and_extension_points(repo_root: Path) -> None:
    text = (repo_root / "docs" / "architecture.md").read_text()
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert {"Layers", "Contracts", "Extension points"} <= set(headings)
    for needle in (
        "rules ← enrichers ← renderer ← core",
        "Exit codes",
        "Alert document",
        "Output formats",
        "Site configuration",
        "Canonical fields",
        "sessionwatch.enrichers",
        "sessionwatch.profiles",
        "sessionwatch.rulepacks",
    ):
        assert needle in text, needle
