"""Issue 14 part 2: the guard's own code, rules and verdict files never come from the change.

Real git repositories and real webhook payloads (test_github_event.py's stand-ins); the attacks are
an agent PR that rewrites the guard it is judged by, or a file the trusted policy is built from.
"""

from __future__ import annotations

import json
from pathlib import Path

from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo, git
from standins.github import actions_env, pr_repos, pull_request_event

AGENT = f"tune the engine\n\n{CLAUDE_TRAILER}\n"
# The guard as a repository holds it when it runs itself with `uses: ./`.
GUARD_TREE = {
    "action.yml": "name: pipeline-guard\nruns: {using: composite, steps: []}\n",
    "pyproject.toml": "[project]\nname = 'pipeline-guard'\n",
    "guard/engine.py": "def evaluate(): ...\n",
    "guard/decide.py": "ALLOW = 'allow'\n",
    "rules/default.yml": "version: 1\n",
}


def run(env: dict[str, str], *args: str) -> tuple[int, dict[str, object], str]:
    r = cli(["check", "--format", "json", *args], env={"GITHUB_TOKEN": "", **env})
    out = r.stdout
    return r.exit_code, json.loads(out[: out.rindex("}") + 1]), r.stderr


def _rules(data: dict[str, object]) -> set[str]:
    return {f["rule"] for f in data["findings"]}  # type: ignore[attr-defined,index]


def test_agent_pr_rewriting_the_guard_code_it_runs_from_needs_step_up(tmp_path: Path) -> None:
    # `uses: ./` installs guard/ and rules/ from the checkout: an edit there rewrites the judge.
    for target in ("guard/decide.py", "rules/default.yml", "pyproject.toml"):
        case = tmp_path / target.replace("/", "_")
        _, ws, base, head = pr_repos(case, AGENT, {target: "# the agent's judge\n"}, base_files=GUARD_TREE)
        git(ws, "fetch", "-q", "origin", "feature")
        git(ws, "checkout", "-q", "FETCH_HEAD")  # the PR's tree is the action's tree
        env = actions_env(
            case / "run",
            "pull_request",
            pull_request_event(head=head, base=base),
            ws,
            GITHUB_ACTION_PATH=str(ws),
        )
        code, data, _ = run(env)
        assert code == 1 and data["decision"] == "step-up", (target, data["decision"])
        assert "agent-ci-config" in _rules(data), target
        notes = " ".join(data["reasons"])  # type: ignore[arg-type]
        assert f"edits /{target}" in notes or f"edits {target}" in notes
        assert "installed from this checkout" in notes


def test_the_same_edit_is_not_guard_code_when_the_guard_is_not_this_tree(tmp_path: Path) -> None:
    # Without the guard's layout at the action path, guard/decide.py is the project's own code.
    _, ws, base, head = pr_repos(tmp_path, AGENT, {"guard/decide.py": "x = 1\n"})
    env = actions_env(tmp_path / "run", "pull_request", pull_request_event(head=head, base=base), ws)
    code, data, _ = run(env)
    assert code == 0 and "agent-ci-config" not in _rules(data)


def test_an_action_checked_out_apart_is_named_and_not_the_changes(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, AGENT, {"guard/decide.py": "x = 1\n"}, base_files=GUARD_TREE)
    trusted = ws / ".pipeline-guard-trusted"
    git(tmp_path, "clone", "-q", str(ws), str(trusted))
    env = actions_env(
        tmp_path / "run", "pull_request", pull_request_event(head=head, base=base), ws,
        GITHUB_ACTION_PATH=str(trusted),
    )  # fmt: skip
    code, data, _ = run(env)
    notes = " ".join(data["reasons"])  # type: ignore[arg-type]
    assert "separate checkout (.pipeline-guard-trusted)" in notes
    assert "agent-ci-config" not in _rules(data) and code == 0


def _local(tmp_path: Path, policy: dict[str, str], change: dict[str, str]) -> tuple[int, dict[str, object]]:
    repo = Repo(tmp_path / "r")
    repo.commit("policy", files={"README.md": "hi\n", **policy})
    base = repo.head()
    repo.git("checkout", "-q", "-b", "agent")
    repo.commit(AGENT, files=change)
    r = cli(
        ["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD", "--format", "json",
         "--policy", "config/guard.yml"],
    )  # fmt: skip
    return r.exit_code, json.loads(r.stdout)


LAYERED = {
    "config/guard.yml": "extends: [builtin:default, base.yml]\n"
    "secrets: {baseline: config/secrets.baseline}\n",
    "config/base.yml": "rules:\n  - {id: deny-vendor, kind: path, actors: [agent], action: block, "
    "match: {paths: ['vendor/**']}}\n",
    "config/secrets.baseline": '{"results": {}}\n',
}


def test_agent_edits_to_the_files_a_custom_policy_is_built_from_need_step_up(tmp_path: Path) -> None:
    for target, text in (
        ("config/guard.yml", "extends: []\n"),
        ("config/base.yml", "rules: []\n"),  # the layer the policy extends
        ("config/secrets.baseline", '{"results": {"a.py": []}}\n'),  # the baseline it names
    ):
        code, data = _local(tmp_path / target.replace("/", "_"), LAYERED, {target: text})
        assert code == 1 and data["decision"] == "step-up", target
        assert "agent-guard-policy" in _rules(data), target


def test_an_unrelated_file_beside_the_policy_is_not_a_verdict_file(tmp_path: Path) -> None:
    code, data = _local(tmp_path, LAYERED, {"config/other.yml": "a: 1\n"})
    assert code == 0 and "agent-guard-policy" not in _rules(data)


def test_the_projects_own_workflow_runs_the_guard_from_the_default_branch_checked_out_apart() -> None:
    import yaml
    from standins.prism import ROOT

    wf = yaml.safe_load((ROOT / ".github/workflows/pipeline-guard.yml").read_text())
    steps = wf["jobs"]["guard"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert "./" not in uses  # the pull request's own tree would be installed as the judge
    guard = next(s for s in steps if s.get("id") == "guard")
    path = guard["uses"].removeprefix("./")
    checkout = next(s for s in steps if s.get("with", {}).get("path") == path)
    assert checkout["with"]["ref"] == "refs/heads/${{ github.event.repository.default_branch }}"
