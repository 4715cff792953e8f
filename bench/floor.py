"""The NDJSON floor: read, parse, serialize, write. Exactly what ``sessionwatch enrich`` must do
anyway, with the same JSON library and options, and nothing else.

``python -m bench.floor IN OUT``
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    source, target = argv
    with open(source, "rb") as src, open(target, "w", encoding="utf-8") as dst:
        for raw in src:
            if not raw.strip():
                continue
            doc = json.loads(raw.decode("utf-8"))
            dst.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
