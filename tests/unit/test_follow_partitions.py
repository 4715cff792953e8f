"""``sessionwatch.follow_partitions``: which partition owns an event (plain data)."""

from __future__ import annotations

import re

import pytest

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.follow_partitions import ALPHABET, Share, characters, key_regexp, partition_of


@pytest.mark.parametrize("partitions", [2, 3, 8, 16, 36])
def test_the_character_classes_partition_the_alphabet(partitions: int) -> None:
    seen = "".join(characters(p, partitions) for p in range(partitions))
    assert sorted(seen) == sorted(ALPHABET + ALPHABET[10:].upper())
    for p in range(partitions):
        pattern = re.compile(key_regexp(characters(p, partitions)).replace("\\@", "@"))
        for name in ("alice", "BOB", "user42", "x9", "Zed", "eve@acme.com", "x@y@z", "carol@"):
            assert bool(pattern.fullmatch(name)) == (partition_of(name, partitions) == p)


def test_case_and_odd_last_characters() -> None:
    assert partition_of("Alice", 8) == partition_of("alice", 8)  # one account, case-insensitively
    assert partition_of("josé", 8) == 0
    assert partition_of("bob ", 8) == 0
    assert partition_of(None, 8) == partition_of("", 8) == partition_of("@acme.com", 8) == 0
    assert partition_of("alice@acme.com", 8) == partition_of("alice", 8)  # not the domain's
    assert partition_of("bob@acme.com", 8) != partition_of("alice@acme.com", 8)


def test_an_account_and_its_admin_actions() -> None:
    share = Share(partition_of("user5", 8), 8, ProfileRegistry.discover())
    own = {"event": {"dataset": "generic.portal", "action": "view"}, "user": {"name": "user5"}}
    other = {"event": {"dataset": "generic.portal", "action": "view"}, "user": {"name": "user6"}}
    disable = {
        "event": {"dataset": "generic.portal", "action": "account_disabled"},
        "user": {"name": "admin9", "target": {"name": "user5"}},
    }
    assert share.classify(own) == "own"
    assert share.classify(other) == "skip"
    assert share.classify(disable) == "observe"  # another partition's, read for its effect
    assert Share(partition_of("admin9", 8), 8, ProfileRegistry.discover()).classify(disable) == "own"
