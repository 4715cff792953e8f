"""Rule kinds, each declared once: one module of this package per kind (its ``KIND``).

A kind's module declares its typed parameters (the JSON Schema fragment is generated from them),
its alert shape and threshold, the facts it reads and copies as evidence, its scaffold sample,
its own lint checks and the wording of its findings (``describe``); its query template is
``renderer/templates/query/<kind>.json.j2``.
Modules whose names start with ``_`` are the machinery, not kinds.
"""

from sessionwatch.rules.kinds._params import Duration, Params
from sessionwatch.rules.kinds._registry import Kind, specs
from sessionwatch.rules.kinds._samples import Sample
from sessionwatch.rules.kinds._spec import Describe, Issue, KindSpec, Shape, Threshold
from sessionwatch.rules.kinds._vocabulary import Severity, Status
from sessionwatch.rules.kinds._wording import alert_field, human_duration

__all__ = [
    "Describe",
    "Duration",
    "Issue",
    "Kind",
    "KindSpec",
    "Params",
    "Sample",
    "Severity",
    "Shape",
    "Status",
    "Threshold",
    "alert_field",
    "human_duration",
    "specs",
]
