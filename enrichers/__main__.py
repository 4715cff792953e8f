"""``python -m sessionwatch.enrichers``: print docs/facts.md, generated from the facts vocabulary."""

import sys

from sessionwatch.enrichers.facts import markdown_document

sys.stdout.write(markdown_document())
