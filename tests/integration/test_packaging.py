"""``python -m build`` of a clean checkout: no warning, an sdist with docs, tests, CHANGELOG and
LICENSE, and a wheel whose metadata carries the SPDX licence, URLs, keywords and classifiers.

Needs the package index (the build backend is installed into an isolated environment, as on
any build machine); about 30 s.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _clean_checkout(target: Path) -> Path:
    """The tracked files of the working tree (with their current content), as a fresh clone has."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_python_m_build_is_quiet_and_ships_docs_tests_and_license(tmp_path: Path) -> None:
    tree = _clean_checkout(tmp_path / "src")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(tree)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = [line for line in output.splitlines() if "warn" in line.lower()]
    assert warnings == []

    [sdist] = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "docs/architecture.md", "docs/checks.md"} <= names
    assert "tests/unit/test_package.py" in names
    assert "tests/integration/conftest.py" in names

    [wheel] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_string(archive.read(meta_name).decode())
        files = set(archive.namelist())
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in files)
    assert "elasticsearch" in (meta["Keywords"] or "")
    assert any(url.startswith("Source, https://") for url in meta.get_all("Project-URL") or [])
    assert "Topic :: Security" in (meta.get_all("Classifier") or [])
    assert "sessionwatch/rules/schema/rule-v1.schema.json" in files
