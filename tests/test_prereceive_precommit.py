"""The pre-commit framework hook (.pre-commit-hooks.yaml): its entry, run as pre-commit runs it
at `pre-push` (PRE_COMMIT_FROM_REF/TO_REF set, no shell around it), judges the pushed range."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from gitutil import CLAUDE_TRAILER, Repo

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"


def _run_entry(repo: Repo, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "pipeline-guard")
    assert hook["stages"] == ["pre-push"] and hook["pass_filenames"] is False
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # as pre-commit's hook env
    return subprocess.run(
        shlex.split(hook["entry"]),
        cwd=repo.path,
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
    )


def test_entry_judges_the_pushed_range(repo: Repo) -> None:
    base = repo.head()
    repo.commit(f"Update CI\n\n{CLAUDE_TRAILER}\n", files={".github/workflows/ci.yml": WORKFLOW})
    proc = _run_entry(repo, {"PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": repo.head()})
    assert proc.returncode == 1, proc.stderr
    assert "agent-ci-config" in proc.stdout


def test_entry_accepts_a_person_s_change(repo: Repo) -> None:
    base = repo.head()
    repo.commit("docs", files={"docs/a.md": "a\n"})
    proc = _run_entry(repo, {"PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": repo.head()})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ALLOW" in proc.stdout
