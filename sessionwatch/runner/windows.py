"""Which window the runner evaluates next.

For a rule with lookback ``L`` and checkpoint ``C`` (every window up to ``C`` has been
evaluated), the next window is ``[C - L, min(H, C + span))`` where ``H`` is the horizon (now,
or ``--until``) and ``span`` caps how far one evaluation may reach (by default the rule's
interval, so a catch-up after downtime evaluates the windows the schedule would have).
Consecutive windows overlap by ``L``: an event indexed up to ``L`` after its ``@timestamp``
is still inside a later window. The checkpoint becomes the window's end only after the
window was evaluated and its alerts written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sessionwatch.renderer import Window
from sessionwatch.runner.clock import iso


@dataclass(frozen=True)
class Slot:
    """One evaluation: the window searched, and the checkpoint it moves to."""

    start: datetime
    end: datetime

    @property
    def window(self) -> Window:
        return Window(iso(self.start), iso(self.end))


def next_slot(
    checkpoint: datetime,
    horizon: datetime,
    *,
    lookback: timedelta,
    span: timedelta,
    floor: datetime | None = None,
) -> Slot | None:
    """The next window after ``checkpoint``, or None when nothing is left before ``horizon``;
    a window never starts before ``floor`` (a backfill of exactly ``[floor, horizon)``)."""
    if span <= timedelta(0):
        raise ValueError("span must be positive")
    if horizon <= checkpoint:
        return None
    start = checkpoint - lookback if floor is None else max(floor, checkpoint - lookback)
    return Slot(start=start, end=min(horizon, checkpoint + span))


def walk(start: datetime, end: datetime, *, lookback: timedelta, span: timedelta) -> list[Slot]:
    """The windows a runner started at checkpoint ``start`` with horizon ``end`` evaluates when
    it looks no further back than ``start``: together they cover exactly ``[start, end)``."""
    slots: list[Slot] = []
    checkpoint = start
    while (slot := next_slot(checkpoint, end, lookback=lookback, span=span, floor=start)) is not None:
        slots.append(slot)
        checkpoint = slot.end
    return slots


def is_due(checkpoint: datetime, now: datetime, interval: timedelta) -> bool:
    """Whether a rule on ``interval`` should run again at ``now``."""
    return now - checkpoint >= interval
