"""Follow mode's read position: what a restarted follower skips (no network)."""

from __future__ import annotations

from sessionwatch.follow import Position, default_follower_id


def test_fresh_position_skips_nothing() -> None:
    assert not Position().skips(0, "i/a")


def test_position_skips_what_was_read_at_its_instant_and_before() -> None:
    position = Position().after([(100, "i/a"), (200, "i/b"), (200, "i/c")])
    assert position == Position(200, frozenset({"i/b", "i/c"}))
    assert position.skips(150, "i/z")
    assert position.skips(200, "i/b")
    assert not position.skips(200, "i/d")  # arrived later at the same instant
    assert not position.skips(201, "i/a")


def test_ids_at_the_same_instant_accumulate_across_pages() -> None:
    position = Position().after([(200, "i/b")]).after([(200, "i/c")])
    assert position.ids == {"i/b", "i/c"}
    assert position.after([(300, "i/d")]) == Position(300, frozenset({"i/d"}))
    assert position.after([]) == position


def test_position_round_trips_through_its_document() -> None:
    position = Position(200, frozenset({"i/c", "i/b"}))
    assert position.as_doc() == {"timestamp": 200, "ids": ["i/b", "i/c"]}
    assert Position.from_doc(position.as_doc()) == position
    assert Position.from_doc(None) == Position()


def test_follower_id_depends_on_source_and_destination() -> None:
    assert default_follower_id("a", "b") == default_follower_id("a", "b")
    assert default_follower_id("a", "b") != default_follower_id("a", "c")
