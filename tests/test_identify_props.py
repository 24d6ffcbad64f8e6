"""Property tests: trailer parsing and identification never crash, whatever a commit says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.fingerprints import literal_prefix, load_fingerprints
from guard.git.parse import parse_raw_commit
from guard.identify import identify_commit, parse_person
from guard.model import IDENTITY_KINDS, Commit, Person
from guard.trailers import parse_trailers

FP = load_fingerprints()
# Text that looks like commit metadata, so the interesting branches are reached, not only noise.
PIECES = st.sampled_from(
    [
        "Co-authored-by: ",
        "Co-Authored-By: Claude <noreply@anthropic.com>",
        "Claude-Session: ",
        "Made-with: ",
        "Assisted-by: ",
        "<",
        ">",
        "@users.noreply.github.com",
        "198982749+",
        "[bot]",
        " (aider)",
        "🤖 Generated with [Claude Code](",
        "\n",
        "\n\n",
        ": ",
        "* ",
        "\x00",
        "\r",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=30)), max_size=30).map("".join)
settings.register_profile("pg", max_examples=200, deadline=None)
settings.load_profile("pg")


def _catalogue_patterns(key: str) -> list[str]:
    """Literal pieces of rules/agents.yml's `key` regexes (unescaped), to build matching text."""
    entries = yaml.safe_load(Path(__file__).parent.parent.joinpath("rules/agents.yml").read_text())[
        "fingerprints"
    ]
    return [str(rx).replace("\\", "").lstrip("^") for e in entries for rx in (e.get(key) or [])]


@given(TEXT)
def test_parse_trailers_never_raises(message: str) -> None:
    for key, value in parse_trailers(message):
        assert key and "\n" not in key and "\n" not in value


@given(TEXT)
def test_parse_person_never_raises(value: str) -> None:
    p = parse_person(value)
    assert isinstance(p.name, str) and isinstance(p.email, str)


@given(TEXT, TEXT, TEXT, TEXT, st.one_of(st.none(), TEXT))
def test_identify_commit_never_raises(
    name: str, email: str, message: str, cname: str, branch: str | None
) -> None:
    commit = Commit(
        sha="a" * 40,
        parents=(),
        author=Person(name, email),
        committer=Person(cname, email),
        authored_at=0,
        committed_at=0,
        message=message,
        trailers=parse_trailers(message),
    )
    ident = identify_commit(commit, FP, branch)
    assert ident.kind in IDENTITY_KINDS
    assert all(e.points_to.split(":", 1)[0] in IDENTITY_KINDS for e in ident.evidence)
    if ident.kind == "agent":
        assert any(e.points_to.startswith("agent:") for e in ident.evidence)


@given(st.binary(max_size=200), st.binary(max_size=60), st.binary(max_size=300))
def test_raw_commit_records_identify_without_crashing(name: bytes, email: bytes, body: bytes) -> None:
    # The same bytes a hostile `git log --pretty=raw` record could carry (names without <>\n, as git forces).
    clean = bytes(b for b in name if b not in b"<>\n")
    raw = b"commit " + b"b" * 40 + b"\nauthor " + clean + b" <" + email.replace(b">", b"") + b"> 1 +0000\n"
    raw += b"committer x <y> 1 +0000\n\n    " + body.replace(b"\n", b"\n    ")
    ident = identify_commit(parse_raw_commit(raw), FP)
    assert ident.kind in IDENTITY_KINDS


@given(TEXT)
def test_prose_never_makes_a_person_an_agent(prose: str) -> None:
    """Free text that names agents, without a known marker line or trailer key, is not evidence."""
    words = "Claude Copilot Codex Cursor Devin Jules Gemini aider OpenHands agent bot"
    message = f"Update docs\n\n{words} {prose}".replace(":", " ").replace("[", "(").replace("<", "(")
    commit = Commit(
        "c" * 40,
        (),
        Person("Dana Doe", "dana@example.com"),
        Person("Dana Doe", "dana@example.com"),
        0,
        0,
        message,
        parse_trailers(message),
    )
    assert identify_commit(commit, FP).kind == "human"


def test_hostile_messages_stay_fast_and_keep_the_deciding_marker() -> None:
    import time

    bots = "".join(
        f"Co-authored-by: renovate[bot] <29139614+renovate[bot]@users.noreply.github.com> {i}\n"
        for i in range(500)
    )
    cases = {
        "blank lines": "x\n" + "\n" * 150_000 + " " * 40_000,
        "many automation co-authors first": f"x\n\n{bots}Co-Authored-By: Claude <noreply@anthropic.com>\n",
    }
    for what, message in cases.items():
        commit = Commit(
            "d" * 40,
            (),
            Person("Dana Doe", "dana@example.com"),
            Person("Dana Doe", "dana@example.com"),
            0,
            0,
            message,
            parse_trailers(message),
        )
        start = time.perf_counter()
        ident = identify_commit(commit, FP)
        assert time.perf_counter() - start < 1.0, what
        if what.startswith("many"):
            assert ident.label == "agent:claude-code"
            assert ident.evidence[0].points_to == "agent:claude-code" and len(ident.evidence) <= 16


# The catalogue's message regexes, each with text built from its own pieces, so matches happen.
_MARKERS = [rx for key in ("body", "subject") for rx in _catalogue_patterns(key)]
NEEDLE_TEXT = st.lists(st.one_of(st.sampled_from([*_MARKERS, "\n", "^", "[", "("]), TEXT), max_size=12).map(
    "".join
)


@given(NEEDLE_TEXT)
def test_the_literal_gate_never_changes_what_an_alternation_finds(text: str) -> None:
    for alt in (FP.body, FP.subject):
        assert alt.pattern is not None
        plain = alt.pattern.search(text)
        gated = alt.search(text)
        assert (gated is None) == (plain is None)
        if plain is not None and gated is not None:
            assert gated[1] == plain.group(0)


@pytest.mark.parametrize(
    ("rx", "prefix"),
    [
        (r"Generated with \[Claude Code\]\(", "Generated with [Claude Code]("),
        (r"^# Aider chat", "# Aider chat"),
        (r"cursor\.com/(?:a|b)", "cursor.com/"),
        (r"abcd?e", "abc"),  # the optional d is not part of every match
        (r"abc\d", "abc"),
        (r"abc|xyz", None),  # a top-level alternative starts anywhere
        (r"(?i)abc", None),  # case-insensitive: `in` would miss ABC
        (r"ab", None),
        (r"\bclaude", None),
    ],
)
def test_literal_prefix(rx: str, prefix: str | None) -> None:
    assert literal_prefix(rx) == prefix
