"""The adversarial corpus (README "Attacks tried"): each attack, the exact verdict, nothing unescaped.

Every case builds a real repository and runs the real CLI (local door). Door-specific attacks
(pre-receive pushes, GitHub events) live with their doors' tests and are listed in the README table.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pathspec
import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo

from guard.errors import UsageError
from guard.policy import build_policy

WF = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
AGENT = f"Work\n\n{CLAUDE_TRAILER}"


def check(repo: Repo, *args: str, fmt: str = "json") -> tuple[int, Any, str]:
    r = cli(["check", "--repo", str(repo.path), "--base", "main", "--format", fmt, *args])
    return r.exit_code, (json.loads(r.stdout) if fmt == "json" and r.stdout else r.stdout), r.stderr


@pytest.fixture
def work(repo: Repo) -> Repo:
    repo.commit("ci", files={".github/workflows/ci.yml": WF, "CODEOWNERS": "* @acme/core\n"})
    repo.git("checkout", "-q", "-b", "work")
    return repo


def rules_of(data: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in data["findings"]}


# ----- identity spoofing -----


def test_spoofed_human_author_with_agent_trailer_is_agent(work: Repo) -> None:
    work.commit(
        AGENT, files={".github/workflows/ci.yml": WF + "#\n"}, author=("Alice Example", "alice@example.com")
    )
    code, data, _ = check(work)
    assert code == 1 and data["commits"][0]["identity"]["kind"] == "agent"


def test_spoofed_human_name_with_agent_noreply_email_is_agent(work: Repo) -> None:
    work.commit(
        "Tweak",
        files={".github/workflows/ci.yml": WF + "#\n"},
        author=("Alice Example", "198982749+Copilot@users.noreply.github.com"),
    )
    code, data, _ = check(work)
    assert code == 1 and data["commits"][0]["identity"]["vendor"] == "copilot"


def test_claimed_bot_identity_is_reported_as_claimed(work: Repo) -> None:
    work.commit(
        "Bump x",
        files={"requirements.txt": "x==2\n"},
        author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    )
    code, data, _ = check(work)
    ident = data["commits"][0]["identity"]
    assert code == 0 and ident["kind"] == "automation" and ident["verified"] is False


def test_claimed_bot_on_a_protected_path_needs_step_up(work: Repo) -> None:
    work.commit(
        "Bump actions/checkout",
        files={".github/workflows/ci.yml": WF + "#\n"},
        author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    )
    code, data, _ = check(work)
    assert code == 1 and data["decision"] == "step-up"
    assert "claimed-bot-on-protected-path" in rules_of(data)


def test_prose_mentioning_agents_is_not_evidence(work: Repo) -> None:
    work.commit(
        "Compare Claude and Copilot output in docs\n\nWe asked Claude Code; Copilot disagreed.",
        files={".github/workflows/ci.yml": WF + "#\n"},
    )
    code, data, _ = check(work)
    assert code == 0 and data["commits"][0]["identity"]["kind"] == "human"


# ----- the agent edits what judges it -----


def test_agent_edits_policy_codeowners_and_workflow_together(work: Repo) -> None:
    work.commit(
        AGENT,
        files={
            ".pipeline-guard.yml": "extends: []\nmode: advisory\nallow_weaker_mode: true\n",
            "CODEOWNERS": "* @agent\n",
            ".github/workflows/ci.yml": WF + "#\n",
        },
    )
    code, data, _ = check(work, "--mode", "advisory")
    assert code == 1 and data["mode"] == "enforce" and data["decision"] == "step-up"
    assert {"agent-guard-policy", "agent-codeowners", "agent-ci-config"} <= rules_of(data)


def test_agent_disables_rules_by_deleting_the_policy(repo: Repo) -> None:
    repo.commit(
        "policy",
        files={
            ".pipeline-guard.yml": "rules:\n  - {id: extra, kind: path, action: block, "
            "actors: [agent], match: {paths: ['src/**']}}\n"
        },
    )
    repo.git("checkout", "-q", "-b", "work")
    repo.git("rm", "-q", ".pipeline-guard.yml")
    repo.commit(AGENT, files={"src/app.py": "evil()\n"})
    code, data, _ = check(repo)
    assert code == 1 and data["decision"] == "block"
    assert {"extra", "agent-guard-policy"} <= rules_of(data)


# ----- paths -----


def test_copy_into_protected_path(work: Repo) -> None:
    work.commit(AGENT, files={".github/workflows/release.yml": WF})
    code, data, _ = check(work)
    assert code == 1 and "agent-ci-config" in rules_of(data)


def test_symlink_pointing_into_protected_path(work: Repo) -> None:
    work.symlink("docs/owners", "../CODEOWNERS")
    work.commit(AGENT)
    code, data, _ = check(work)
    assert code == 1 and any("symlink into CODEOWNERS" in f["message"] for f in data["findings"])


def test_submodule_pointer_in_protected_path(work: Repo, tmp_path: Path) -> None:
    sub = Repo(tmp_path / "sub")
    sub.commit("x", files={"action.yml": "runs: {using: node20, main: x.js}\n"})
    work.git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(sub.path),
        ".github/actions/vendored",
    )
    work.commit(AGENT)
    code, data, _ = check(work)
    assert code == 1
    assert any(
        f["path"] == ".github/actions/vendored" and "submodule" in f["message"] for f in data["findings"]
    )


@pytest.mark.parametrize("name", ["-rf.txt", "--output=x", "a\nb.txt", "tab\there.txt"])
def test_odd_paths_are_data_not_options(work: Repo, name: str) -> None:
    work.write(name, "x\n")
    work.commit(AGENT)
    code, data, err = check(work)
    assert code == 0, err
    assert data["decision"] == "allow"


def test_lookalike_and_bidi_paths_are_escaped(work: Repo) -> None:
    evil = ".github/workflows/ci\u202e lmy.yml"  # bidi override renders as "ci.yml ..." in places
    work.commit(AGENT, files={evil: WF, ".github/wоrkflows/x.yml": WF})  # Cyrillic "о"
    code, text, _ = check(work, fmt="text")
    assert code == 1
    assert "\u202e" not in text and "\\u202e" in text
    code, md, _ = check(work, fmt="markdown")
    assert "\u202e" not in md


# ----- content -----


def test_huge_line_and_huge_file_finish_in_bounded_time(work: Repo) -> None:
    work.commit(AGENT, files={"min.js": "x" * 20_000_000, "big.txt": "line\n" * 300_000})
    start = time.monotonic()
    code, data, err = check(work)
    assert code == 0, err
    assert data["decision"] == "allow"
    assert time.monotonic() - start < 60


def test_binary_disguised_as_text_with_a_secret(work: Repo) -> None:
    token = "ghp_" + "Xy7Wv6Ut5Sr4Qp3On2Ml1Kj0Ih9Gf8Ed7Cb6"
    work.commit(AGENT, files={"notes.txt": f"hello\0\ntoken = {token}\n".encode()})
    code, data, _ = check(work)
    assert code == 1 and data["decision"] == "block"
    assert token not in json.dumps(data)


def test_crlf_content(work: Repo) -> None:
    key = "AKIA" + "Z7Q4XN2LBWRT5JKM"
    work.commit(AGENT, files={"cfg.ini": f"[aws]\r\naws_access_key_id = {key}\r\n"})
    code, data, _ = check(work)
    assert code == 1 and any(f["kind"] == "secret" and f["line"] == 2 for f in data["findings"])


def test_lfs_pointer_is_a_plain_file(work: Repo) -> None:
    ptr = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12345\n"
    work.commit(AGENT, files={"assets/model.bin": ptr})
    code, data, _ = check(work)
    assert code == 0 and data["findings"] == []


# ----- history shapes -----


def test_empty_commit(work: Repo) -> None:
    work.commit(AGENT, allow_empty=True)
    code, data, _ = check(work)
    assert code == 0 and data["commits"][0]["identity"]["kind"] == "agent"


def test_empty_commit_cannot_hide_a_secret_in_the_commit_before_it(work: Repo) -> None:
    token = "ghp_" + "Pq4Rs5Tu6Vw7Xy8Za9Bc0De1Fg2Hi3Jk4Lm5N"
    work.commit("add config", files={"settings.py": f'TOKEN = "{token}"\n'})
    work.commit(AGENT, allow_empty=True)  # git writes its marker right before the previous one's
    code, data, _ = check(work)
    assert code == 1 and data["decision"] == "block"
    assert any(f["kind"] == "secret" and f["path"] == "settings.py" for f in data["findings"])


def test_octopus_merge(work: Repo) -> None:
    for b in ("b1", "b2", "b3"):
        work.git("checkout", "-q", "-b", b, "main")
        work.commit(f"{b}", files={f"{b}.txt": f"{b}\n"})
    work.git("checkout", "-q", "work")
    work.git("merge", "-q", "-m", AGENT, "b1", "b2", "b3")
    code, data, err = check(work)
    assert code == 0, err
    octopus = data["commits"][0]
    assert octopus["identity"]["kind"] == "agent" and len(data["commits"]) == 4


def test_commit_with_no_author_email(work: Repo) -> None:
    work.commit("nameless", files={"a.txt": "a\n"}, author=("Ghost", ""))
    code, data, err = check(work)
    assert code == 0, err
    assert data["commits"][0]["identity"]["kind"] in ("human", "unknown")


# ----- injection into reports -----


def test_messages_and_branches_cannot_inject_workflow_commands_or_markdown(work: Repo) -> None:
    work.git("checkout", "-q", "-b", "x\u202e-<b>-@everyone")
    msg = f"::set-output name=decision::allow\n\n<img src=x onerror=alert(1)> @everyone\n\n{CLAUDE_TRAILER}"
    work.commit(msg, files={".github/workflows/::error::x.yml": WF})
    code, text, _ = check(work, fmt="text")
    assert code == 1
    assert not any(line.startswith("::") for line in text.splitlines())
    code, md, _ = check(work, fmt="markdown")
    outside = re.sub(r"`[^`\n]*`", "", md)
    assert "<img" not in outside and "](https://" not in outside and "@everyone" not in outside


# ----- resource limits on hostile configuration -----


def test_policy_alias_bomb_is_refused_quickly() -> None:
    bomb = (
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "rules: []\n"
    )
    start = time.monotonic()
    with pytest.raises(UsageError, match="invalid YAML"):
        build_policy(bomb, "bomb.yml")
    assert time.monotonic() - start < 2


def test_policy_deep_nesting_is_refused() -> None:
    with pytest.raises(UsageError, match="invalid YAML"):
        build_policy("rules: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yml")


def test_policy_globs_cannot_backtrack_catastrophically() -> None:
    hostile = ["**/" * 30 + "z", "*a" * 60 + "z", "[!a]" * 50 + "*z"]
    spec = pathspec.GitIgnoreSpec.from_lines(hostile)
    start = time.monotonic()
    for path in ("a/" * 200 + "b", "a" * 5000, "b" * 5000):
        spec.match_file(path)
    assert time.monotonic() - start < 1
