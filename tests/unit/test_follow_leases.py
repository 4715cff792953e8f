"""``sessionwatch.follow_leases``: which partitions a member lets go of (plain data; the leases
themselves are tested on the real node in tests/integration/test_follow_group.py)."""

from __future__ import annotations

from sessionwatch.follow_leases import _spread_out


def test_a_member_keeps_a_mix_of_partitions() -> None:
    assert _spread_out(list(range(8)), 4) == [1, 3, 5, 7]  # not 4-7: neighbours share characters
    assert _spread_out(list(range(8)), 3) == [1, 3, 5, 7, 6]
    assert _spread_out([2, 5], 2) == []
    assert _spread_out([0, 1, 2, 3, 4], 2) == [1, 3, 4]
