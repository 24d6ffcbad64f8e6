"""The composite action end to end: actionlint on the metadata and workflows, and `act` (host mode,
no Docker) running it on a real local repository with GITHUB_API_URL pointing at Prism.

The action installs pipeline-guard from its own checkout, as on GitHub; offline, pip takes the
wheels .ci/run put in .ci/cache/wheels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitutil import CLAUDE_TRAILER, Repo, git
from standins.github import pull_request_event
from standins.prism import ROOT, prism

BIN = Path(sys.executable).parent
WHEELS = ROOT / ".ci/cache/wheels"
ACTION_FILES = ("action.yml", "pyproject.toml", "README.md", "guard", "rules")
WORKFLOW = """on: pull_request
permissions:
  contents: read
  checks: write
  statuses: write
  pull-requests: write
jobs:
  guard:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4  # act replaces it with a copy of the local tree
      - id: pg
        uses: pipeline-guard/pipeline-guard@v0
        with:
          sarif-file: guard.sarif
      - if: always()
        env:
          OUT: ${{ steps.pg.outputs.decision }} ${{ steps.pg.outputs.agent }} ${{ steps.pg.outputs.findings }}
          SARIF: ${{ steps.pg.outputs.sarif-file }}
        run: echo "PG-OUT $OUT $SARIF"
"""


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed next to {sys.executable}: run `bash .ci/run`")
    return found


def actionlint(cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("actionlint"), *files], cwd=cwd, capture_output=True, text=True)


def test_project_workflows_and_action_pass_actionlint() -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github/workflows").glob("*.yml"))
    assert files, "the project's own workflows are missing"
    r = actionlint(ROOT, *files)
    assert r.returncode == 0, r.stdout + r.stderr


def test_zizmor_finds_nothing_high_in_the_action_or_workflows() -> None:
    """The guard warns about unpinned third-party actions: its own workflows pin theirs."""
    zizmor = Path(sys.executable).parent / "zizmor"
    if not zizmor.exists():
        pytest.fail(f"zizmor is not installed next to {sys.executable}: run `bash .ci/run`")
    r = subprocess.run(
        [str(zizmor), "--offline", "--format", "json", "action.yml", ".github/workflows/"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    findings = json.loads(r.stdout or "[]")
    high = [f["ident"] for f in findings if f.get("determinations", {}).get("severity") == "High"]
    assert high == [], high


def test_actionlint_checks_inputs_against_the_action(tmp_path: Path) -> None:
    # A workflow using `./` makes actionlint read action.yml: a misspelt input is caught.
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    wf = tmp_path / ".github/workflows/w.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        WORKFLOW.replace("pipeline-guard/pipeline-guard@v0", "./").replace("sarif-file:", "sarif-fil:")
    )
    git(tmp_path, "init", "-q")
    r = actionlint(tmp_path, ".github/workflows/w.yml")
    assert r.returncode == 1 and 'input "sarif-fil" is not defined in action "pipeline-guard"' in r.stdout


def _action_copy(dest: Path) -> Path:
    dest.mkdir()
    for name in ACTION_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    return dest


def test_act_runs_the_action_on_an_agent_pr_and_posts_through_prism(tmp_path: Path) -> None:
    if not any(WHEELS.glob("*.whl")):
        pytest.fail(f"no wheels in {WHEELS}: run `bash .ci/run` (the action installs offline from them)")
    server = prism()
    up = Repo(tmp_path / "up")
    up.commit("initial", files={"README.md": "hi\n", ".github/workflows/guard.yml": WORKFLOW})
    base = up.head()
    up.git("checkout", "-q", "-b", "feature")
    head = up.commit(
        f"tweak ci\n\n{CLAUDE_TRAILER}\n", files={".github/workflows/guard.yml": WORKFLOW + "# x\n"}
    )
    git(tmp_path, "clone", "-q", str(up.path), "ws")
    ws = tmp_path / "ws"
    git(ws, "checkout", "-q", "feature")
    git(ws, "remote", "set-url", "origin", "https://github.com/acme/widget.git")  # GITHUB_REPOSITORY
    event = tmp_path / "event.json"
    event.write_text(json.dumps(pull_request_event(head=head, base=base)))
    action = _action_copy(tmp_path / "action")
    (tmp_path / "home").mkdir()
    log_start = len(server.log_text())
    cmd = [
        tool("act"), "pull_request", "-e", str(event),
        "-P", "ubuntu-latest=-self-hosted", "--no-cache-server",
        "--local-repository", f"pipeline-guard/pipeline-guard@v0={action}",
        "-s", "GITHUB_TOKEN=ghs_test",
        "--env", f"GITHUB_API_URL={server.url}",
        "--env", "PIP_NO_INDEX=1", "--env", f"PIP_FIND_LINKS={WHEELS}",
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path / "home"), "PATH": f"{BIN}:{os.environ['PATH']}"}
    r = subprocess.run(cmd, cwd=ws, env=env, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out  # the job fails: a person's approval is required
    assert "PG-OUT step-up true 1 guard.sarif" in out
    assert (
        "❗  ::error file=.github/workflows/guard.yml,title=pipeline-guard step-up%3A agent-ci-config::"
        in out
    )
    assert "Who may approve" in out  # the report in the job log
    log = server.log_text()[log_start:]
    for request in (
        "post /repos/acme/widget/check-runs",
        f"post /repos/acme/widget/statuses/{head}",
        "post /repos/acme/widget/issues/7/comments",
        "get /repos/acme/widget/pulls/7/reviews",
    ):
        assert request in log, log[-3000:]
    assert "did not pass the validation rules" not in log and 'Responding with "422"' not in log
