"""The GitLab door on real repositories: pipeline shapes, shallow clones, trusted policy, bad input.

No API here (no token): these pin what the door decides from git and GitLab's predefined
variables alone. API behaviour: test_gitlab_api.py (Prism) and test_gitlab_recorded.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo, git

from guard.doors.gitlab.door import prepare
from guard.doors.interface import CheckOptions
from guard.doors.registry import select_door
from guard.model import ZERO_SHA

AGENT = f"widen ci\n\n{CLAUDE_TRAILER}\n"
CI = "test:\n  script: [make]\n"


def mr_env(repo: Repo, **over: str) -> dict[str, str]:
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "3",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": repo.head("main"),
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_SHA": repo.head(),
        "CI_DEFAULT_BRANCH": "main",
        "GITLAB_USER_LOGIN": "alice",
        "GITLAB_USER_ID": "2",
    }
    return {**env, **over}


def check(repo: Repo | Path, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    path = repo.path if isinstance(repo, Repo) else repo
    result = cli(["check", "--repo", str(path), "--format", "json"], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, (json.loads(result.stdout) if result.stdout else {}), result.stderr


@pytest.fixture
def feature(repo: Repo) -> Repo:
    repo.commit("ci", files={".gitlab-ci.yml": CI})
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_gitlab_ci_selects_the_gitlab_door() -> None:
    assert select_door(CheckOptions(), {"GITLAB_CI": "true"}) == "gitlab"
    assert select_door(CheckOptions(base="main"), {"GITLAB_CI": "true"}) == "local"


def test_mr_pipeline_gates_agent_ci_edit_and_names_the_run_actor(feature: Repo) -> None:
    feature.commit(AGENT, files={".gitlab-ci.yml": CI + "  when: always\n"})
    code, data, err = check(feature, mr_env(feature))
    assert code == 1 and data["decision"] == "step-up" and data["door"] == "gitlab"
    assert any(f["rule"] == "agent-ci-config" and f["path"] == ".gitlab-ci.yml" for f in data["findings"])
    actor = data["actors"][0]
    assert actor["login"] == "alice" and actor["role"] == "run-actor" and actor["verified"] is True
    assert "PIPELINE_GUARD_GITLAB_TOKEN" in " ".join(data["reasons"])
    assert "not posted: MR note and commit status" in err


def test_merged_results_pipeline_judges_the_source_head(feature: Repo) -> None:
    base = feature.head("main")
    head = feature.commit(AGENT, files={"src/app.py": "x = 1\n"})
    feature.git("checkout", "-q", "main")
    feature.git("merge", "-q", "--no-ff", "-m", "merge", "feature")
    env = mr_env(
        feature,
        CI_COMMIT_SHA=feature.head(),  # the merge commit GitLab made for the merged-results pipeline
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=head,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=base,
    )
    prepared = prepare(CheckOptions(repo=str(feature.path)), env)
    assert prepared.change.head == head and [c.sha for c in prepared.change.commits] == [head]


def test_branch_pipeline_judges_before_to_head(feature: Repo) -> None:
    before = feature.commit("human", files={"a.txt": "1\n"})
    head = feature.commit(AGENT, files={"b.txt": "2\n"})
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": head,
           "CI_COMMIT_BEFORE_SHA": before, "CI_COMMIT_BRANCH": "feature"}  # fmt: skip
    prepared = prepare(CheckOptions(repo=str(feature.path)), env)
    assert [c.sha for c in prepared.change.commits] == [head]
    (update,) = prepared.change.ref_updates
    assert (update.ref, update.old, update.new) == ("refs/heads/feature", before, head)


def test_new_branch_zero_before_sha_is_judged_from_the_default_branch(feature: Repo) -> None:
    first = feature.commit("human", files={"a.txt": "1\n"})
    head = feature.commit(AGENT, files={"b.txt": "2\n"})
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": head,
        "CI_COMMIT_BEFORE_SHA": ZERO_SHA,
        "CI_COMMIT_BRANCH": "feature",
    }
    prepared = prepare(CheckOptions(repo=str(feature.path)), env)
    assert [c.sha for c in prepared.change.commits] == [head, first]
    assert prepared.change.ref_updates[0].created
    assert any("merge-base" in n for n in prepared.notes)


def test_tag_pipeline_records_the_tag_creation(feature: Repo) -> None:
    head = feature.commit("release", files={"VERSION": "1.0\n"})
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": head,
        "CI_COMMIT_TAG": "v1.0",
        "CI_COMMIT_BEFORE_SHA": ZERO_SHA,
    }
    prepared = prepare(CheckOptions(repo=str(feature.path)), env)
    (update,) = prepared.change.ref_updates
    assert update.ref == "refs/tags/v1.0" and update.created and update.new == head


def test_weakened_policy_on_an_unprotected_target_branch_is_not_trusted(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": "mode: enforce\n", ".gitlab-ci.yml": CI})
    repo.git("checkout", "-q", "-b", "agent-base")
    repo.commit(AGENT, files={".pipeline-guard.yml": "mode: advisory\nallow_weaker_mode: true\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(AGENT, files={".gitlab-ci.yml": CI + "  when: always\n"})
    env = mr_env(repo, CI_MERGE_REQUEST_TARGET_BRANCH_NAME="agent-base",
                 CI_MERGE_REQUEST_DIFF_BASE_SHA=repo.head("agent-base"))  # fmt: skip
    code, data, _ = check(repo, env)
    assert code == 1 and data["mode"] == "enforce"  # read at the merge-base with main
    code, data, _ = check(repo, {**env, "CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED": "true"})
    assert code == 0 and data["mode"] == "advisory"  # a protected target is trusted to hold it


def test_shallow_clone_fetches_the_base(feature: Repo, tmp_path: Path) -> None:
    for i in range(5):
        feature.commit(f"human {i}", files={f"f{i}.txt": f"{i}\n"})
    feature.commit(AGENT, files={".gitlab-ci.yml": CI + "  when: always\n"})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{feature.path}", str(clone))
    code, data, _ = check(clone, mr_env(feature))
    assert code == 1 and len(data["commits"]) == 6
    assert any(
        "fetched the missing commits from origin (the clone was shallow)" in r for r in data["reasons"]
    )


def test_shallow_clone_without_reachable_origin_is_a_clear_exit_2(feature: Repo, tmp_path: Path) -> None:
    feature.commit("human", files={"a.txt": "1\n"})
    feature.commit(AGENT, files={"b.txt": "2\n"})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{feature.path}", str(clone))
    git(clone, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    code, _, err = check(clone, mr_env(feature))
    assert code == 2 and "GIT_DEPTH: 0" in err and "not in this clone" in err


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GITLAB_CI": "true"}, "CI_COMMIT_SHA is not set"),
        ({"GITLAB_CI": "true", "CI_COMMIT_SHA": "not-a-sha"}, "CI_COMMIT_SHA: not a commit id"),
        ({"GITLAB_CI": "true", "CI_COMMIT_SHA": "a" * 40, "CI_MERGE_REQUEST_IID": "7"},
         "CI_MERGE_REQUEST_DIFF_BASE_SHA is not set"),
        ({"GITLAB_CI": "true", "CI_COMMIT_SHA": "a" * 40, "CI_PIPELINE_SOURCE": "merge_request_event",
          "CI_MERGE_REQUEST_IID": "x7"}, "CI_MERGE_REQUEST_IID"),
        ({"GITLAB_CI": "true", "CI_COMMIT_SHA": "a" * 40}, "head commit aaaaaaaaaaaa is not in this clone"),
    ],
)  # fmt: skip
def test_bad_pipeline_variables_exit_2_with_the_variable_named(
    repo: Repo, env: dict[str, str], message: str
) -> None:
    code, _, err = check(repo, env)
    assert code == 2 and message in err


def test_guard_files_follow_local_includes_and_extra_files(feature: Repo) -> None:
    feature.commit("ci", files={".gitlab-ci.yml": "include:\n  - local: /ci/guard.yml\n  - 'ci/more.yml'\n",
                                "ci/guard.yml": "g:\n  script: [x]\n",
                                "ci/more.yml": "include: {local: ci/deep.yml}\n"})  # fmt: skip
    head = feature.commit("doc", files={"README.md": "x\n"})
    env = {"GITLAB_CI": "true", "CI_COMMIT_SHA": head, "CI_COMMIT_BRANCH": "feature",
           "PIPELINE_GUARD_CI_FILES": "ops/guard.sh, ci/extra.yml"}  # fmt: skip
    prepared = prepare(CheckOptions(repo=str(feature.path)), env)
    assert prepared.change.guard_files == (
        ".gitlab-ci.yml", "ci/guard.yml", "ci/more.yml", "ci/deep.yml", "ops/guard.sh", "ci/extra.yml",
    )  # fmt: skip


def test_a_component_from_this_project_is_a_guard_file(feature: Repo) -> None:
    ci = "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/pipeline-guard@main\n"
    head = feature.commit("ci", files={".gitlab-ci.yml": ci})
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": head,
        "CI_COMMIT_BRANCH": "feature",
        "CI_PROJECT_PATH": "acme/widget",
    }
    prepared = prepare(CheckOptions(repo=str(feature.path)), env)
    assert "templates/pipeline-guard.yml" in prepared.change.guard_files
