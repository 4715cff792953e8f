"""``python -m sessionwatch.enrichers [facts|profiles]``: print docs/facts.md or docs/profiles.md,
generated from the facts vocabulary and the shipped profiles."""

import sys

from sessionwatch.enrichers import facts, profiles_doc

WHAT = sys.argv[1] if len(sys.argv) > 1 else "facts"
if WHAT not in {"facts", "profiles"}:
    sys.exit("usage: python -m sessionwatch.enrichers [facts|profiles]")
sys.stdout.write(facts.markdown_document() if WHAT == "facts" else profiles_doc.markdown_document())
