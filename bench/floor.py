"""The NDJSON floor: read, parse, serialize, write. Exactly what ``sessionwatch enrich`` must do
anyway, and nothing else: with the standard library (``json``, the engine's options), or with
orjson (``--orjson``, the library the engine itself uses).

``python -m bench.floor IN OUT [--orjson]``
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    source, target, *flags = argv
    with open(source, "rb") as src, open(target, "w", encoding="utf-8") as dst:
        if flags == ["--orjson"]:
            import orjson

            for raw in src:
                if raw.strip():
                    dst.write(orjson.dumps(orjson.loads(raw.decode("utf-8"))).decode("utf-8") + "\n")
            return 0
        for raw in src:
            if not raw.strip():
                continue
            doc = json.loads(raw.decode("utf-8"))
            dst.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
