"""Vendor layouts, one module each. Adding a vendor: write ``vendors/<name>.py`` with a
``VENDOR = base.Vendor(...)`` and list the module name here."""

from __future__ import annotations

import importlib

from bench.scenarios.vendors.base import Vendor

MODULES = (
    "okta",
    "entra",
    "auth0",
    "hashicorp_vault",
    "teleport",
    "salesforce",
    "google_workspace",
    "system_auth",
    "generic",
    "cisco_duo",
    "keycloak",
    "onepassword",
    "slack",
    "zscaler_zpa",
)


def all_vendors() -> dict[str, Vendor]:
    """Every vendor by its sessionwatch profile name."""
    found: dict[str, Vendor] = {}
    for module in MODULES:
        vendor: Vendor = importlib.import_module(f"bench.scenarios.vendors.{module}").VENDOR
        found[vendor.name] = vendor
    return found
