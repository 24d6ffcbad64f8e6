"""Line-level provenance from Git AI authorship logs (refs/notes/ai), on real repositories.

Notes are written with real `git notes --ref=ai add`, in the Git AI Standard v3.0.0 format; the
pre-receive case pushes the notes ref in the same real `git push` into a bare repository with
the hook installed (test_prereceive.py's stand-in).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo
from test_prereceive import Server, push

from guard.gitai import NoteError, parse_note

WF = ".github/workflows/ci.yml"
WORKFLOW = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"
SESSION = "d9978a8723e02b52"


def note(files: dict[str, str], tool: str = "claude", model: str = "claude-sonnet-4") -> str:
    lines = []
    for path, ranges in files.items():
        lines += [path, f"  {SESSION} {ranges}"]
    meta = {
        "schema_version": "authorship/3.0.0",
        "base_commit_sha": "0" * 40,
        "prompts": {
            SESSION: {
                "agent_id": {"tool": tool, "id": "6ef2299e", "model": model},
                "human_author": "Dana Developer <dana@example.com>",
                "messages": [],
                "total_additions": 6,
                "total_deletions": 0,
                "accepted_lines": 6,
                "overriden_lines": 0,
            }
        },
    }
    return "\n".join(lines) + "\n---\n" + json.dumps(meta, indent=2) + "\n"


def add_note(repo: Repo, text: str, rev: str = "HEAD") -> None:
    path = repo.path.parent / "note.txt"
    path.write_text(text)
    repo.git("notes", "--ref=ai", "add", "-f", "-F", str(path), rev)


def check(repo: Repo, base: str) -> tuple[int, dict[str, object]]:
    r = cli(["check", "--repo", str(repo.path), "--base", base, "--format", "json"])
    return r.exit_code, json.loads(r.stdout)


def test_a_persons_commit_whose_ci_lines_an_agent_wrote_needs_step_up(repo: Repo) -> None:
    base = repo.head()
    repo.commit("tweak ci", files={WF: WORKFLOW})
    code, plain = check(repo, base)
    assert (code, plain["decision"]) == (0, "allow")  # a person editing CI: warned, not gated
    add_note(repo, note({WF: "1-6"}))
    code, out = check(repo, base)
    assert (code, out["decision"]) == (1, "step-up")
    gated = [f for f in out["findings"] if f["path"] == WF and f["action"] == "step-up"]  # type: ignore[index]
    assert gated and "agent:claude-code" in gated[0]["actors"]
    assert any(
        "git-ai note claims agent:claude-code wrote 6 line(s) in 1 file(s)" in r for r in out["reasons"]
    )  # type: ignore[union-attr]


def test_a_note_on_unprotected_lines_changes_nothing(repo: Repo) -> None:
    base = repo.head()
    repo.commit("tweak", files={WF: WORKFLOW, "src/app.py": "print('x')\n"})
    before = check(repo, base)
    add_note(repo, note({"src/app.py": "1"}))
    after = check(repo, base)
    assert (after[0], after[1]["decision"]) == (before[0], before[1]["decision"]) == (0, "allow")


def test_an_unknown_tool_is_still_an_agent_by_its_own_name(repo: Repo) -> None:
    base = repo.head()
    repo.commit("tweak ci", files={WF: WORKFLOW})
    add_note(repo, note({WF: "2-3"}, tool="Zed Agent Panel"))
    code, out = check(repo, base)
    assert code == 1
    assert any("agent:other:zed-agent-panel" in f["actors"] for f in out["findings"])  # type: ignore[union-attr,index]


@pytest.mark.parametrize(
    "bad",
    [
        "src/x.py\n  nothex 1-2\n---\n{}",
        "no divider at all",
        "---\n[1, 2]",
        WF
        + "\n  "
        + SESSION
        + " 5-1\n---\n"
        + json.dumps(
            {"schema_version": "authorship/3.0.0", "prompts": {SESSION: {"agent_id": {"tool": "claude"}}}}
        ),
        "x" * 3_000_000,
    ],
)
def test_a_malformed_or_huge_note_is_ignored_with_a_note(repo: Repo, bad: str) -> None:
    base = repo.head()
    repo.commit("tweak ci", files={WF: WORKFLOW})
    add_note(repo, bad)
    code, out = check(repo, base)
    assert (code, out["decision"]) == (0, "allow")
    assert any("git-ai note of" in n and "ignored" in n for n in out["reasons"])  # type: ignore[union-attr]


def test_a_note_cannot_make_an_agents_commit_a_persons(repo: Repo) -> None:
    base = repo.head()
    repo.commit(f"ci\n\n{CLAUDE_TRAILER}", files={WF: WORKFLOW})
    add_note(repo, note({}, tool="human"))
    code, out = check(repo, base)
    assert (code, out["decision"]) == (1, "step-up")


def test_parse_counts_lines_without_expanding_ranges() -> None:
    log = parse_note(note({"a.py": "1-4,9,1000000-1999999"}))
    assert log.files == {"a.py": {SESSION: 1_000_005}}
    with pytest.raises(NoteError):
        parse_note("a.py\n  " + SESSION + " 0\n---\n" + json.dumps({"schema_version": "authorship/3.0.0"}))


def test_prereceive_reads_a_notes_ref_pushed_with_the_branch(tmp_path: Path) -> None:
    server = Server(tmp_path / "served.git")
    work = Repo(tmp_path / "work")
    work.commit("initial", files={"README.md": "hello\n"})
    assert push(work, str(server.path), "main")[0] == 0
    work.commit("tweak ci", files={WF: WORKFLOW})
    code, out = push(work, str(server.path), "main")
    assert code == 0, out  # a person's CI edit alone is accepted (warned)
    sha = work.commit("tweak ci again", files={WF: WORKFLOW + "# more\n"})
    add_note(work, note({WF: "1-7"}))
    code, out = push(work, str(server.path), "main", "refs/notes/ai")
    assert code != 0 and "refs/heads/main: needs a person's step-up" in out, out
    assert server.ref("main") != sha
