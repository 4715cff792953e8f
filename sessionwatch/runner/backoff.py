"""Exponential backoff with full jitter, shared by the runner, follow mode and the webhook client."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays ``base * factor**attempt`` capped at ``cap`` seconds, with jitter in ``[0.5, 1]``."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: bool = True

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0 = the first retry)."""
        raw = min(self.cap, self.base * self.factor ** max(attempt, 0))
        if not self.jitter:
            return raw
        return raw * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not cryptography
