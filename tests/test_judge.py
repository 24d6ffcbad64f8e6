"""The one judge path (guard/judge.py): what every door gets from it, whoever calls it."""

from __future__ import annotations

import json
from pathlib import Path

from gitutil import CLAUDE_TRAILER, Repo

from guard.approvals import GENERIC_HOW
from guard.doors.interface import CheckOptions, run_ids
from guard.doors.local import DOOR as LOCAL
from guard.doors.prereceive.door import HOW as PUSH_HOW
from guard.judge import judge


def _agent_edits_ci(repo: Repo) -> CheckOptions:
    base = repo.head()
    repo.commit(f"ci\n\n{CLAUDE_TRAILER}", files={".github/workflows/ci.yml": "on: push\njobs: {}\n"})
    return CheckOptions(repo=str(repo.path), base=base, head="HEAD")


def test_step_up_says_the_doors_own_way_to_approve(repo: Repo) -> None:
    opts = _agent_edits_ci(repo)
    d = judge(LOCAL.prepare(opts), how=PUSH_HOW)
    assert d.verdict == "step-up" and d.step_up is not None
    assert d.step_up.how == list(PUSH_HOW)
    plain = judge(LOCAL.prepare(opts))
    assert plain.step_up is not None and plain.step_up.how == list(GENERIC_HOW)


def test_the_audit_record_carries_the_run_the_door_names_and_nothing_else(repo: Repo, tmp_path: Path) -> None:
    opts = _agent_edits_ci(repo)
    log = tmp_path / "audit.jsonl"
    env = {"GITHUB_RUN_ID": "7", "GITHUB_TOKEN": "ghp_not_recorded", "CI_JOB_ID": "9"}
    d = judge(LOCAL.prepare(opts), audit_log=str(log), run=run_ids(env))
    [rec] = [json.loads(x) for x in log.read_text().splitlines()]
    assert rec["run"] == {"GITHUB_RUN_ID": "7", "CI_JOB_ID": "9"}
    assert rec["verdict"] == d.verdict == "step-up"


def test_a_flag_cannot_relax_what_the_trusted_policy_enforces(repo: Repo) -> None:
    opts = _agent_edits_ci(repo)
    d = judge(LOCAL.prepare(opts), mode="advisory")
    assert d.mode == "enforce" and d.exit_code == 1
    assert any("advisory" in n for n in d.change.notes)
