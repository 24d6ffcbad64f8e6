"""Trailer parsing: anywhere in the body, case-insensitive keys, never crashes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from guard.trailers import parse_trailers, trailer_values


def test_trailers_in_final_block_and_mid_body() -> None:
    msg = (
        "Fix parser (#12)\n\n"
        "* Initial plan\n"
        "* Co-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>\n"
        "\nMore prose here.\n\n"
        "Co-Authored-By: Claude <noreply@anthropic.com>\n"
        "Signed-off-by: Alice <alice@example.com>\n"
    )
    tr = parse_trailers(msg)
    assert len(trailer_values(tr, "co-authored-by")) == 2
    assert trailer_values(tr, "CO-AUTHORED-BY")[1] == "Claude <noreply@anthropic.com>"
    assert trailer_values(tr, "signed-off-by") == ["Alice <alice@example.com>"]


def test_subject_line_is_not_a_trailer() -> None:
    assert parse_trailers("Fix: the thing\n") == ()


def test_urls_and_prose_colons_are_not_keys() -> None:
    tr = parse_trailers("s\n\nsee https://example.com/x: for details\nNote that: spaces are not tokens\n")
    assert all(k.lower() not in ("https", "note that") for k, _ in tr)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_trailer_parsing_never_crashes(message: str) -> None:
    tr = parse_trailers(message)
    for key, value in tr:
        assert key and value and "\n" not in key and "\n" not in value


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
        lambda v: (
            v.strip() == v
            and "\n" not in v
            and "\r" not in v
            and v.strip() != ""
            and not any(c in v for c in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        )
    )
)
def test_round_trip_of_a_written_trailer(value: str) -> None:
    tr = parse_trailers(f"subject\n\nCo-authored-by: {value}\n")
    assert trailer_values(tr, "co-authored-by") == [value[:500]]
