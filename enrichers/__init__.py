"""Profiles, the facts vocabulary, the streaming facts engine and the enricher registry."""

from sessionwatch.enrichers.base import CanonicalEvent, Enricher
from sessionwatch.enrichers.canonical import BadEvent
from sessionwatch.enrichers.engine import Counts, DeadLetter, Engine, EngineOptions, Output
from sessionwatch.enrichers.facts import FACTS, Fact, events_mapping, fact_names
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry
from sessionwatch.enrichers.registry import discover_enrichers
from sessionwatch.enrichers.state import Limits

__all__ = [
    "FACTS",
    "BadEvent",
    "CanonicalEvent",
    "Counts",
    "DeadLetter",
    "Engine",
    "EngineOptions",
    "Enricher",
    "Fact",
    "Limits",
    "Output",
    "Profile",
    "ProfileRegistry",
    "discover_enrichers",
    "events_mapping",
    "fact_names",
]
