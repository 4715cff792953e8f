"""Where the project lives: the repository and its documentation (SARIF help links point here).

Kept equal to ``[project.urls]`` in pyproject.toml by a test.
"""

from __future__ import annotations

REPOSITORY_URL = "https://github.com/sessionwatch/sessionwatch"
DOCS_URL = f"{REPOSITORY_URL}/blob/main/docs"
