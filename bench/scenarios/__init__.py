"""Seeded scenario generator and per-kind scorer for detection quality (docs/detection-quality.md).

``python -m bench.scenarios --seed 7 --days 3 --users 60 --out DIR`` writes ``events.ndjson``
(several vendors interleaved, in the layouts Elastic's integrations write), ``truth.json`` (every
injected violation and near miss, labelled) and ``site.json`` (the site values a configuration
would set), then runs ``sessionwatch detect`` on it and prints precision and recall per kind.
"""
