"""Hostile refs on every door: a tag or branch named like the default branch never stands in for it.

The attack: an agent points a tag `main` (or `origin/main`, `refs/heads/main` as a tag name,
`HEAD`, a branch `origin/main`, a branch named like a commit id) at its own commit, which carries a
permissive `.pipeline-guard.yml`. Git resolves short names as tags first and CI clones fetch tags,
so a guard that resolves `origin/main` or `main` reads the agent's policy (advisory, exit 0). Each
door must read the policy at the real branch (enforce, exit 1) and print that commit as its source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo, git
from standins.github import WORKFLOW, actions_env, example, pull_request_event
from test_gitlab_door import mr_env
from test_prereceive import AGENT_ACCOUNTS, Server, push

from guard.errors import InternalError
from guard.git.repo import GitRepo
from guard.model import ZERO_SHA

STRICT = "mode: enforce\n"
PERMISSIVE = "mode: advisory\nallow_weaker_mode: true\nextends: []\n"
AGENT = f"tweak ci\n\n{CLAUDE_TRAILER}\n"
HOSTILE_TAGS = ("main", "origin/main", "refs/heads/main", "refs/remotes/origin/main", "HEAD")


def plant(path: Path, target: str, trusted_sha: str) -> None:
    """Hostile tags and branches at `target`: every short name the default branch goes by, and
    refs named like the trusted commit's id (full and abbreviated)."""
    for name in HOSTILE_TAGS:
        git(path, "update-ref", f"refs/tags/{name}", target)
    git(path, "update-ref", "refs/heads/origin/main", target)
    git(path, "update-ref", f"refs/heads/{trusted_sha}", target)
    git(path, "update-ref", f"refs/heads/{trusted_sha[:12]}", target)
    git(path, "update-ref", f"refs/tags/{trusted_sha[:12]}", target)  # a tag beats an abbreviated id


def as_json(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out[: out.rindex("}") + 1])
    return data


def agent_branch(repo: Repo) -> str:
    """An agent branch that weakens the policy and edits CI (gated in enforce mode)."""
    repo.git("checkout", "-q", "-b", "feature")
    return repo.commit(AGENT, files={".pipeline-guard.yml": PERMISSIVE, ".github/workflows/ci.yml": WORKFLOW})


# ----- the helper itself -----


def test_full_names_resolve_exactly_and_short_names_are_refused(repo: Repo) -> None:
    main_sha = repo.commit("policy", files={".pipeline-guard.yml": STRICT})
    evil = agent_branch(repo)
    plant(repo.path, evil, main_sha)
    g = GitRepo(repo.path)
    assert g.default_branch() == "refs/heads/main"
    assert g.branch_ref("main") == "refs/heads/main" and g.oid("refs/heads/main") == main_sha
    assert g.ref_commit("refs/remotes/origin/main") is None  # only the tag of that name exists
    assert g.branch_ref("nope") is None
    for short in ("main", "origin/main", "HEAD", main_sha[:12]):
        with pytest.raises(InternalError, match="short name"):
            g.merge_base(short, evil)
        with pytest.raises(InternalError, match="short name"):
            g.read_file_at(short, ".pipeline-guard.yml")
    assert g.read_file_at("refs/heads/main", ".pipeline-guard.yml") == STRICT.encode()


# ----- local `check` -----


def clone_with_hostile_tags(tmp_path: Path) -> tuple[Path, str, str]:
    origin = Repo(tmp_path / "origin")
    main_sha = origin.commit("policy", files={".pipeline-guard.yml": STRICT, "README.md": "hi\n"})
    evil = agent_branch(origin)
    origin.git("checkout", "-q", "main")
    plant(origin.path, evil, main_sha)
    git(tmp_path, "clone", "-q", "--no-local", f"file://{origin.path}", "ws")
    ws = tmp_path / "ws"
    git(ws, "fetch", "-q", "--tags", "origin")  # CI clones fetch tags
    git(ws, "checkout", "-q", "-b", "work", evil)
    git(ws, "branch", "-q", "-D", "main")  # as in a CI clone: only the remote-tracking branch
    assert git(ws, "rev-parse", "origin/main") == evil  # git's own DWIM picks the tag
    return ws, main_sha, evil


def test_local_check_reads_the_policy_on_the_real_default_branch(tmp_path: Path) -> None:
    ws, main_sha, evil = clone_with_hostile_tags(tmp_path)
    r = cli(["check", "--repo", str(ws), "--format", "json"])
    data = as_json(r.stdout)
    assert r.exit_code == 1, r.output
    assert data["decision"] == "step-up" and data["mode"] == "enforce"
    assert data["policy"]["source"] == f".pipeline-guard.yml@{main_sha[:12]}"
    assert data["base"] == main_sha and data["head"] == evil
    assert any("refs/remotes/origin/main" in n for n in data["reasons"])
    named = "tags named like a branch (refs/tags/HEAD, refs/tags/main, refs/tags/origin/main, 2 under"
    assert any(named in n for n in data["reasons"])


def test_shallow_tag_fetch_lets_git_move_the_remote_branch_and_the_guard_says_so(tmp_path: Path) -> None:
    """Why hostile tags are named: git (2.39) itself moves refs/remotes/origin/main when a shallow
    clone fetches a tag `refs/heads/main` with an explicit refspec. Full names cannot undo that."""
    origin = Repo(tmp_path / "origin")
    main_sha = origin.commit("policy", files={".pipeline-guard.yml": STRICT})
    evil = agent_branch(origin)
    origin.git("checkout", "-q", "main")
    git(origin.path, "update-ref", "refs/tags/refs/heads/main", evil)
    git(tmp_path, "clone", "-q", "--depth=1", "--no-local", f"file://{origin.path}", "ws")
    ws = tmp_path / "ws"
    git(ws, "fetch", "-q", "origin", "+refs/tags/*:refs/tags/*")
    assert git(ws, "rev-parse", "refs/remotes/origin/main") == evil  # git moved it (2.39)
    r = cli(["check", "--repo", str(ws), "--head", evil])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "refs/remotes/origin/main points where the tag refs/tags/refs/heads/main does" in r.stderr
    git(ws, "tag", "-d", "refs/heads/main")  # the fix the message names
    git(ws, "fetch", "-q", "--depth=5", "--no-tags", "origin", "+refs/heads/main:refs/remotes/origin/main")
    r = cli(["check", "--repo", str(ws), "--head", evil, "--format", "json"])
    assert (
        r.exit_code == 1 and as_json(r.stdout)["policy"]["source"] == f".pipeline-guard.yml@{main_sha[:12]}"
    )


@pytest.mark.parametrize("base", ["main", "origin/main", "HEAD~0"])
def test_local_base_named_by_an_ambiguous_short_name_is_a_usage_error(tmp_path: Path, base: str) -> None:
    ws, main_sha, _ = clone_with_hostile_tags(tmp_path)
    if base == "HEAD~0":  # HEAD itself is unambiguous to git (the HEAD file comes first): accepted
        r = cli(["check", "--repo", str(ws), "--base", base, "--format", "json"])
        assert r.exit_code == 0 and as_json(r.stdout)["base"] == as_json(r.stdout)["head"]
        return
    r = cli(["check", "--repo", str(ws), "--base", base])
    assert r.exit_code == 2 and "is ambiguous" in r.stderr and "Traceback" not in r.output
    r = cli(["check", "--repo", str(ws), "--base", main_sha[:12]])
    assert r.exit_code == 2 and "is ambiguous" in r.stderr  # a tag named like the abbreviated id
    r = cli(["check", "--repo", str(ws), "--base", "refs/heads/main"])
    assert r.exit_code == 2 and "no ref of that full name" in r.stderr  # only a tag has that name
    r = cli(["check", "--repo", str(ws), "--base", "refs/remotes/origin/main"])
    assert r.exit_code == 1 and "step-up" in r.stdout


# ----- the GitHub event door -----


def github_ws(tmp_path: Path) -> tuple[Path, str, str]:
    """origin with a strict main and an agent PR; a shallow workspace that also fetched the tags."""
    origin = Repo(tmp_path / "origin")
    base = origin.commit(
        "initial", files={".pipeline-guard.yml": STRICT, ".github/workflows/guard.yml": WORKFLOW}
    )
    head = agent_branch(origin)
    origin.git("checkout", "-q", "main")
    plant(origin.path, head, base)
    git(tmp_path, "clone", "-q", "--depth=1", "--no-local", f"file://{origin.path}", "ws")
    ws = tmp_path / "ws"
    git(ws, "fetch", "-q", "--depth=1", "--tags", "origin")
    return ws, base, head


def run_github(
    tmp_path: Path, event: str, payload: dict[str, Any], ws: Path
) -> tuple[int, dict[str, Any], str]:
    env = {"GITHUB_TOKEN": "", **actions_env(tmp_path / "run", event, payload, ws)}
    r = cli(["check", "--format", "json"], env=env)
    return r.exit_code, as_json(r.stdout), r.stderr


def test_github_pull_request_with_hostile_tags_reads_the_base_branch_policy(tmp_path: Path) -> None:
    ws, base, head = github_ws(tmp_path)
    code, data, err = run_github(tmp_path, "pull_request", pull_request_event(head=head, base=base), ws)
    assert code == 1, err
    assert data["decision"] == "step-up" and data["mode"] == "enforce"
    assert data["policy"]["source"] == f".pipeline-guard.yml@{base[:12]}"
    assert data["base"] == base and data["head"] == head


def test_github_push_of_a_new_branch_with_hostile_tags_is_judged_from_the_default_branch(
    tmp_path: Path,
) -> None:
    ws, base, head = github_ws(tmp_path)
    p = example("push")
    p.update(ref="refs/heads/feature", before=ZERO_SHA, after=head, created=True, deleted=False)
    p["repository"]["default_branch"] = "main"
    code, data, _ = run_github(tmp_path, "push", p, ws)
    assert code == 1, (data["base"], data["mode"], data["reasons"])
    assert data["base"] == base and data["mode"] == "enforce"  # not the tag `origin/main` (== head)
    assert data["policy"]["source"] == f".pipeline-guard.yml@{base[:12]}"


# ----- the GitLab pipeline door -----


def test_gitlab_mr_pipeline_with_hostile_tags_reads_the_target_branch_policy(repo: Repo) -> None:
    main_sha = repo.commit(
        "policy", files={".pipeline-guard.yml": STRICT, ".gitlab-ci.yml": "t:\n  script: [x]\n"}
    )
    evil = agent_branch(repo)
    plant(repo.path, evil, main_sha)
    env = mr_env(repo, CI_MERGE_REQUEST_DIFF_BASE_SHA=main_sha, CI_COMMIT_SHA=evil)
    r = cli(["check", "--repo", str(repo.path), "--format", "json"], env=env)
    data = as_json(r.stdout)
    assert r.exit_code == 1, r.output
    assert data["decision"] == "step-up" and data["mode"] == "enforce" and data["door"] == "gitlab"
    assert data["policy"]["source"] == f".pipeline-guard.yml@{main_sha[:12]}"
    # A protected target named `main` is trusted as the branch, not as the tag `main`.
    env["CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED"] = "true"
    r = cli(["check", "--repo", str(repo.path), "--format", "json"], env=env)
    assert (
        r.exit_code == 1 and as_json(r.stdout)["policy"]["source"] == f".pipeline-guard.yml@{main_sha[:12]}"
    )


def test_gitlab_branch_pipeline_without_a_before_sha_ignores_hostile_tags(repo: Repo) -> None:
    main_sha = repo.commit(
        "policy", files={".pipeline-guard.yml": STRICT, ".gitlab-ci.yml": "t:\n  script: [x]\n"}
    )
    evil = agent_branch(repo)
    plant(repo.path, evil, main_sha)
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_SHA": evil,
        "CI_COMMIT_BRANCH": "feature",
        "CI_COMMIT_BEFORE_SHA": ZERO_SHA,
        "CI_DEFAULT_BRANCH": "main",
    }
    r = cli(["check", "--repo", str(repo.path), "--format", "json"], env=env)
    data = as_json(r.stdout)
    assert r.exit_code == 1, r.output
    assert data["base"] == main_sha and data["mode"] == "enforce"  # merge-base with refs/heads/main
    assert data["policy"]["source"] == f".pipeline-guard.yml@{main_sha[:12]}"


# ----- pre-receive -----


def test_prereceive_tag_named_like_the_protected_branch_is_judged_as_a_tag(tmp_path: Path) -> None:
    policy = AGENT_ACCOUNTS + "protected_refs: [main]\n"
    server = Server(tmp_path / "served.git", policy)
    work = Repo(tmp_path / "work")
    main_sha = work.commit("initial", files={"README.md": "hello\n"})
    assert push(work, str(server.path), "main")[0] == 0
    evil = agent_branch(work)
    agent = {"GL_USERNAME": "claude-bot", "GL_ID": "user-9", "GL_PROTOCOL": "ssh"}
    for name in ("main", "refs/heads/main", "HEAD"):
        code, out = push(work, str(server.path), f"{evil}:refs/tags/{name}", env=agent)
        assert code != 0, out
        assert f"refs/tags/{name}: needs a person's step-up" in out
        assert f"tag `{name}` created" in out
        assert server.ref(f"refs/tags/{name}") is None
    code, out = push(work, str(server.path), f"{evil}:refs/heads/origin/main", env=agent)
    assert code != 0 and "refs/heads/origin/main: needs a person's step-up" in out
    code, out = push(work, str(server.path), f"{evil}:refs/heads/{main_sha}", env=agent)
    assert code != 0 and f"refs/heads/{main_sha}: needs a person's step-up" in out
    assert server.ref("refs/heads/main") == main_sha
    assert all(r["policy"]["source"] == str(tmp_path / "served.git.policy.yml") for r in server.records())  # type: ignore[index]
