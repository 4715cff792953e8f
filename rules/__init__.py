"""Rule model, JSON Schema, the located-error loader and the shipped rule pack."""

from sessionwatch.rules.durations import format_duration, parse_duration
from sessionwatch.rules.errors import (
    ElasticsearchUnavailable,
    EnrichError,
    Location,
    PluginError,
    RenderError,
    RuleErrors,
    RuleSchemaError,
    RuleSyntaxError,
    SessionwatchError,
    UnsupportedByTarget,
)
from sessionwatch.rules.kinds import Kind, Severity, Status
from sessionwatch.rules.loader import discover, load_rule_file, load_rules, rule_schema
from sessionwatch.rules.model import ExpectedAlert, Rule, RuleCase, Scope, ScopeFilter

__all__ = [
    "ElasticsearchUnavailable",
    "EnrichError",
    "ExpectedAlert",
    "Kind",
    "Location",
    "PluginError",
    "RenderError",
    "Rule",
    "RuleCase",
    "RuleErrors",
    "RuleSchemaError",
    "RuleSyntaxError",
    "Scope",
    "ScopeFilter",
    "SessionwatchError",
    "Severity",
    "Status",
    "UnsupportedByTarget",
    "discover",
    "format_duration",
    "load_rule_file",
    "load_rules",
    "parse_duration",
    "rule_schema",
]
