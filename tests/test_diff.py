"""Raw hunks: numbering a line found by a byte search agrees with parsing every line, and the secret
scanner finds the same secrets in the raw bytes as in the parsed lines (fuzzed)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from guard.diff import HunkIndex, added_from_patch, removed_in
from guard.secrets.engine import raw_scannable, scan_patch, scan_texts

GHP = "ghp_" + "Vb7Nm3Qw8Er2Ty6Ui1Op5As9Df4Gh0Jk3Lz7X"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9X"

LINE = st.sampled_from(
    [
        b"+x = 1",
        b"+",
        b"-removed",
        b" context",
        b"\\ No newline at end of file",
        b"+token = '" + GHP.encode() + b"'",
        b"-token = '" + GHP.encode() + b"'",
        b'+STRIPE = "' + STRIPE.encode() + b'"',
        b"+password = 'hunter2-but-longer'  # pragma: allowlist secret",
        b"+# pragma: allowlist nextline secret",
        b"+\xc3\xa9t\xc3\xa9 = 'caf\xc3\xa9'",
        b"+line with a CR\r",
    ]
)


def _patch(hunks: list[tuple[int, list[bytes]]]) -> bytes:
    """Hunks in file order, as git prints them: each starts past the lines of the one before."""
    out, at = [], 1
    for gap, lines in hunks:
        at += gap
        out.append(f"@@ -{at},3 +{at},4 @@ def f():".encode() + b"".join(b"\n" + ln for ln in lines))
        at += sum(1 for ln in lines if ln[:1] in (b"+", b" "))
    return b"\n".join(out)


HUNKS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=50), st.lists(LINE, max_size=12)), min_size=1, max_size=5
).map(_patch)


@given(HUNKS)
def test_numbering_a_found_line_agrees_with_parsing_every_line(patch: bytes) -> None:
    parsed = added_from_patch(patch)
    index = HunkIndex(patch)
    starts = [i + 1 for i in range(len(patch)) if patch[i : i + 2] == b"\n+"]
    numbers = [index.number_at(s) for s in starts]
    assert numbers == [a.number for a in parsed]
    assert index.number_at(0) is None  # a hunk header is not an added line


@given(HUNKS)
def test_the_raw_scan_finds_what_the_line_scan_finds(patch: bytes) -> None:
    assert raw_scannable(patch)
    added = added_from_patch(patch)
    by_lines = scan_texts("app.py", [a.number for a in added], [a.text for a in added])
    by_bytes, texts = scan_patch("app.py", patch)
    assert sorted(by_bytes, key=repr) == sorted(by_lines, key=repr)
    assert all(texts[h.line] == next(a.text for a in added if a.number == h.line) for h in by_bytes)


def test_removed_lines_are_counted_not_added() -> None:
    patch = b"@@ -1,2 +1 @@\n-a\n-b\n+" + GHP.encode()
    assert removed_in(patch) == 2
    (hit,), _ = scan_patch("x.py", patch)
    assert (hit.detector, hit.line, hit.value) == ("github-token", 1, GHP)
    assert scan_patch("x.py", b"@@ -1 +0,0 @@\n-" + GHP.encode()) == ([], {})  # only ever removed


def test_invalid_utf8_is_left_to_the_line_scan() -> None:
    assert not raw_scannable(b"@@ -0,0 +1 @@\n+\xff" + GHP.encode())
    assert raw_scannable("@@ -0,0 +1 @@\n+é".encode())
