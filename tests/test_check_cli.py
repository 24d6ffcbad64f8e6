"""`pipeline-guard check` end to end on real repositories: the exit-code and JSON contract."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, COPILOT, Repo

WORKFLOW = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"
AGENT_MSG = f"Update CI\n\n{CLAUDE_TRAILER}\n"


def run(repo: Repo, *args: str) -> tuple[int, str, str]:
    result = cli(["check", "--repo", str(repo.path), *args])
    return result.exit_code, result.stdout, result.stderr


def run_json(repo: Repo, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(repo, "--format", "json", *args)
    assert out, err
    return code, json.loads(out)


@pytest.fixture
def feature(repo: Repo) -> Repo:
    repo.commit("add workflow", files={".github/workflows/ci.yml": WORKFLOW})
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_exit_0_for_a_plain_agent_change(feature: Repo) -> None:
    feature.commit(AGENT_MSG, files={"src/app.py": "print('bye')\n"})
    code, data = run_json(feature, "--base", "main")
    assert code == 0
    assert data["decision"] == "allow"
    assert data["commits"][0]["identity"]["kind"] == "agent"
    assert data["findings"] == []


def test_exit_1_agent_changes_ci(feature: Repo) -> None:
    feature.commit(AGENT_MSG, files={".github/workflows/ci.yml": WORKFLOW + "      - run: echo more\n"})
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    assert data["decision"] == "step-up"
    f = next(f for f in data["findings"] if f["rule"] == "agent-ci-config")
    assert f["kind"] == "path" and f["path"] == ".github/workflows/ci.yml" and f["line"] is None
    assert set(f) >= {"rule", "kind", "action", "path", "line", "message"}
    assert data["step_up"]["required"] is True and data["step_up"]["eligible"]


def test_human_ci_change_is_not_gated(feature: Repo) -> None:
    feature.commit("tweak ci", files={".github/workflows/ci.yml": WORKFLOW + "      - run: echo more\n"})
    code, data = run_json(feature, "--base", "main")
    assert code == 0
    assert data["commits"][0]["identity"]["kind"] == "human"
    assert all(f["rule"] != "agent-ci-config" for f in data["findings"])


def test_rename_out_of_protected_path_is_caught(feature: Repo) -> None:
    feature.git("mv", ".github/workflows/ci.yml", "docs-ci.yml")
    feature.commit(AGENT_MSG)
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    f = next(f for f in data["findings"] if f["rule"] == "agent-ci-config")
    assert f["path"] == "docs-ci.yml" and "renamed .github/workflows/ci.yml" in f["message"]


def test_delete_of_protected_path_is_caught(feature: Repo) -> None:
    feature.git("rm", "-q", ".github/workflows/ci.yml")
    feature.commit(AGENT_MSG)
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    assert any(f["rule"] == "agent-ci-config" and "deleted" in f["message"] for f in data["findings"])


def test_symlink_into_protected_path_is_caught(feature: Repo) -> None:
    feature.symlink("tools/ci-link", "../.github/workflows")
    feature.commit(AGENT_MSG)
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    f = next(f for f in data["findings"] if f["rule"] == "agent-ci-config")
    assert f["path"] == "tools/ci-link" and "symlink into .github/workflows" in f["message"]


def test_mode_change_on_protected_path_is_caught(feature: Repo) -> None:
    feature.git("update-index", "--chmod=+x", ".github/workflows/ci.yml")
    feature.git("commit", "-q", "-m", AGENT_MSG)
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    assert any("mode 100644 -> 100755" in f["message"] for f in data["findings"])


def test_binary_files_do_not_crash_and_are_path_checked(feature: Repo) -> None:
    feature.commit(
        AGENT_MSG, files={"img.png": bytes(range(256)) * 40, ".github/actions/x/bin": b"\0\1\2" * 100}
    )
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    assert [f["path"] for f in data["findings"] if f["rule"] == "agent-ci-config"] == [
        ".github/actions/x/bin"
    ]


def test_non_utf8_path_and_content(feature: Repo) -> None:
    feature.write(b"caf\xe9.txt", b"caf\xe9 au lait\n")
    feature.write(b".github/workflows/\xff.yml", WORKFLOW)
    feature.commit(AGENT_MSG)
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    paths = [f["path"] for f in data["findings"]]
    assert ".github/workflows/\\xff.yml" in paths


def test_merge_commit_in_range_is_identified(feature: Repo) -> None:
    feature.commit(AGENT_MSG, files={"src/a.py": "a = 1\n"})
    feature.git("checkout", "-q", "-b", "other", "main")
    feature.commit("human work", files={"src/b.py": "b = 2\n"})
    feature.git("checkout", "-q", "feature")
    feature.git("merge", "-q", "--no-ff", "-m", f"Merge other\n\n{CLAUDE_TRAILER}", "other")
    code, data = run_json(feature, "--base", "main")
    merge = data["commits"][0]
    assert code == 0
    assert merge["identity"]["kind"] == "agent"
    assert len(data["commits"]) == 3


def test_exit_2_unknown_base(feature: Repo) -> None:
    code, _, err = run(feature, "--base", "no-such-branch")
    assert code == 2
    assert "unknown base 'no-such-branch'" in err and "Traceback" not in err


def test_exit_2_invalid_policy_at_trusted_ref(repo: Repo) -> None:
    repo.commit(
        "policy", files={".pipeline-guard.yml": "rules:\n  - id: x\n    kind: nope\n    action: block\n"}
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("work", files={"a.txt": "a\n"})
    code, _, err = run(repo, "--base", "main")
    assert code == 2
    assert err.count("\n") == 1
    assert ".pipeline-guard.yml@" in err and ":3: rules.0.kind" in err


def test_exit_2_bad_flag(repo: Repo) -> None:
    code, _, err = run(repo, "--format", "yaml")
    assert code == 2 and "yaml" in err


def test_exit_3_unreadable_object_fails_closed(feature: Repo) -> None:
    feature.commit(AGENT_MSG, files={"src/x.py": "x = 1\n"})
    blob = feature.git("rev-parse", "HEAD:src/x.py")
    obj = feature.path / ".git" / "objects" / blob[:2] / blob[2:]
    obj.chmod(0o600)
    obj.unlink()
    code, _, err = run(feature, "--base", "main")
    assert code == 3
    assert "failing closed" in err and "Traceback" not in err


def test_policy_change_inside_range_does_not_take_effect(feature: Repo) -> None:
    lenient = "mode: advisory\nallow_weaker_mode: true\nrules:\n  - id: agent-ci-config\n    enabled: false\n"
    feature.commit(
        AGENT_MSG, files={".pipeline-guard.yml": lenient, ".github/workflows/ci.yml": WORKFLOW + "#\n"}
    )
    code, data = run_json(feature, "--base", "main", "--mode", "advisory")
    assert code == 1, data["reasons"]
    assert data["mode"] == "enforce"
    rules = {f["rule"] for f in data["findings"]}
    assert {"agent-ci-config", "agent-guard-policy"} <= rules
    assert data["policy"]["source"] == "builtin:default"


def test_policy_from_a_branch_the_change_names_is_not_trusted(repo: Repo) -> None:
    # An agent creates its own branch with a lenient policy and targets it: the base is not on
    # the default branch, so the policy is read at the merge-base with main.
    repo.git("checkout", "-q", "-b", "agent-base")
    repo.commit(AGENT_MSG, files={".pipeline-guard.yml": "mode: advisory\n"})
    base = repo.head()
    repo.git("checkout", "-q", "-b", "agent-work")
    repo.commit(AGENT_MSG, files={".github/workflows/x.yml": WORKFLOW})
    code, data = run_json(repo, "--base", base)
    assert code == 1 and data["mode"] == "enforce"
    assert any("merge-base" in r for r in data["reasons"])


def test_trusted_policy_advisory_mode_exits_0(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": "mode: advisory\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(AGENT_MSG, files={".github/workflows/x.yml": WORKFLOW})
    code, data = run_json(repo, "--base", "main")
    assert code == 0
    assert data["decision"] == "step-up" and data["mode"] == "advisory"
    assert data["policy"]["source"].startswith(".pipeline-guard.yml@")


def test_mode_enforce_input_makes_it_stricter(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": "mode: advisory\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(AGENT_MSG, files={".github/workflows/x.yml": WORKFLOW})
    code, data = run_json(repo, "--base", "main", "--mode", "enforce")
    assert code == 1 and data["mode"] == "enforce"


def test_policy_option_outside_repo_is_read_from_disk(feature: Repo, tmp_path: Path) -> None:
    pol = tmp_path / "central.yml"
    pol.write_text(
        "extends: []\nrules:\n"
        "  - {id: all, kind: path, action: block, actors: [any], match: {paths: ['**']}}\n"
    )
    feature.commit("anything", files={"x.txt": "x\n"})
    code, data = run_json(feature, "--base", "main", "--policy", str(pol))
    assert code == 1 and data["decision"] == "block"


def test_default_base_is_merge_base_with_default_branch(feature: Repo) -> None:
    feature.commit(AGENT_MSG, files={".github/workflows/ci.yml": WORKFLOW + "#\n"})
    cwd = os.getcwd()
    try:
        os.chdir(feature.path)
        result = cli(["check", "--format", "json"])
    finally:
        os.chdir(cwd)
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert data["base"] == feature.head("main")


def test_copilot_author_is_agent_even_without_trailer(feature: Repo) -> None:
    feature.commit("Initial plan", files={".github/workflows/ci.yml": WORKFLOW + "#\n"}, author=COPILOT)
    code, data = run_json(feature, "--base", "main")
    assert code == 1
    assert data["commits"][0]["identity"]["vendor"] == "copilot"


def test_explain_prints_the_chain(feature: Repo) -> None:
    feature.commit(AGENT_MSG, files={".github/workflows/ci.yml": WORKFLOW + "#\n"})
    result = cli(["explain", "--repo", str(feature.path), "--base", "main"])
    assert result.exit_code == 1
    out = result.stdout
    assert "why:" in out and "agent-ci-config" in out and "verdict step-up" in out


def test_output_file_and_sarif_file(feature: Repo, tmp_path: Path) -> None:
    feature.commit(AGENT_MSG, files={".github/workflows/ci.yml": WORKFLOW + "#\n"})
    out, sarif = tmp_path / "r.json", tmp_path / "r.sarif"
    code, stdout, _ = run(
        feature, "--base", "main", "--format", "json", "-o", str(out), "--sarif-file", str(sarif)
    )
    assert code == 1 and stdout == ""
    assert json.loads(out.read_text())["decision"] == "step-up"
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_bare_repository(feature: Repo, tmp_path: Path) -> None:
    feature.commit(AGENT_MSG, files={".github/workflows/ci.yml": WORKFLOW + "#\n"})
    bare = tmp_path / "bare.git"
    feature.git("clone", "-q", "--bare", str(feature.path), str(bare))
    result = cli(["check", "--repo", str(bare), "--base", "main", "--head", "feature", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["decision"] == "step-up"


def test_an_unexpected_error_fails_closed_without_quoting_its_text(
    feature: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "ghp_" + "Qq1Ww2Ee3Rr4Tt5Yy6Uu7Ii8Oo9Pp0Aa1Ss2Dd"

    def boom(*_a: object, **_k: object) -> None:
        raise ValueError(f"could not parse line: TOKEN = {secret}")

    monkeypatch.setattr("guard.engine.run_checks", boom)
    code, _, err = run(feature, "--base", "main")
    assert code == 3 and "internal error (ValueError at" in err and "failing closed" in err
    assert secret not in err and "TOKEN" not in err
