"""What a run counts, and the one ``name=value`` summary line every command logs."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Counters:
    """Base of a run's counters: subclasses declare ``int`` fields (default 0), in log order."""

    def line(self) -> str:
        """``read=3 enriched=2 ...``: every integer counter, in declaration order."""
        return " ".join(
            f"{item.name}={getattr(self, item.name)}"
            for item in dataclasses.fields(self)
            if isinstance(getattr(self, item.name), int)
        )
