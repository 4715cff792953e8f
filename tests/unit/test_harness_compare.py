"""``compare`` matches expected alerts to raised ones one to one, each expected alert taking the
first free raised alert it matches: checked against the plain quadratic scan on generated
cases where names repeat, fields are left open and alerts are missing or unexpected."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sessionwatch.harness import AlertKey, compare
from sessionwatch.rules.model import ExpectedAlert

VALUES = st.sampled_from(["a", "b", "c"])
KEYS = st.tuples(st.none() | VALUES, st.none() | VALUES, st.none() | VALUES)
EXPECTED = st.builds(
    ExpectedAlert, session=st.none() | VALUES, event=st.none() | VALUES, user=st.none() | VALUES
)


def _scan(
    expected: list[ExpectedAlert], actual: list[AlertKey]
) -> tuple[list[ExpectedAlert], list[AlertKey]]:
    unmatched = list(actual)
    missing = []
    for item in expected:
        hit = next(
            (
                key
                for key in unmatched
                if all(
                    want is None or want == got
                    for want, got in zip((item.session, item.event, item.user), key, strict=True)
                )
            ),
            None,
        )
        if hit is None:
            missing.append(item)
        else:
            unmatched.remove(hit)
    return missing, unmatched


@settings(max_examples=500, deadline=None)
@given(expected=st.lists(EXPECTED, max_size=8), actual=st.lists(KEYS, max_size=10))
def test_compare_is_the_first_free_match_in_order(
    expected: list[ExpectedAlert], actual: list[AlertKey]
) -> None:
    assert compare(expected, actual) == _scan(expected, actual)


def test_an_open_field_takes_the_first_free_alert_and_leaves_the_named_one() -> None:
    expected = [ExpectedAlert(session="s1"), ExpectedAlert(user="u")]
    actual: list[AlertKey] = [("s2", None, "u"), ("s1", None, "u"), ("s1", None, "v")]
    assert compare(expected, actual) == ([], [("s1", None, "v")])
    assert compare([ExpectedAlert(session="s3")], actual) == ([ExpectedAlert(session="s3")], actual)
