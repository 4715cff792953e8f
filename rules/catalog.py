"""Catalogues of known ids: MITRE ATT&CK techniques and compliance controls per framework.

Rules may only cite ids listed here (``sessionwatch validate`` checks), so a typo such as
``T1550.01`` or ``AC-12(9)`` cannot slip into an auditor's report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Framework:
    key: str
    title: str
    controls: Mapping[str, str]  # id -> title, in catalogue order


@dataclass(frozen=True)
class Catalog:
    attack_version: str
    techniques: Mapping[str, str]  # id -> name
    frameworks: Mapping[str, Framework]

    def technique_name(self, technique: str) -> str | None:
        return self.techniques.get(technique)

    def control_title(self, framework: str, control: str) -> str | None:
        known = self.frameworks.get(framework)
        return None if known is None else known.controls.get(control)


def _read(name: str) -> Any:
    return json.loads(resources.files("sessionwatch.rules").joinpath(f"catalog/{name}").read_text())


@cache
def catalog() -> Catalog:
    """The shipped catalogue (``sessionwatch/rules/catalog/*.json``)."""
    attack = _read("attack.json")
    compliance = _read("compliance.json")
    frameworks = {
        key: Framework(key, value["title"], MappingProxyType(dict(value["controls"])))
        for key, value in compliance.items()
    }
    return Catalog(
        attack_version=attack["version"],
        techniques=MappingProxyType(dict(attack["techniques"])),
        frameworks=MappingProxyType(frameworks),
    )
