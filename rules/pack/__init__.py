"""The rule pack that ships with sessionwatch (YAML files below this package)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def location() -> Path:
    """The directory of the built-in rule pack (entry point ``sessionwatch.rulepacks``)."""
    return Path(str(resources.files(__name__)))
