"""The GitHub door without an API: real webhook payloads as GITHUB_EVENT_PATH, real git repositories.

Every payload starts as one of GitHub's own examples (@octokit/webhooks-examples); only SHAs, refs
and logins are pointed into the local repositories.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo, git
from standins.github import WORKFLOW, actions_env, example, pr_repos, pull_request_event, read_outputs

from guard.doors.github.event import GitHubContext, event_range, guard_files
from guard.doors.github.workflow import annotation, write_outputs
from guard.model import ZERO_SHA, Finding

AGENT_CI = (f"tweak ci\n\n{CLAUDE_TRAILER}\n", {".github/workflows/guard.yml": WORKFLOW + "# more\n"})
COPILOT_ACCOUNT = ("Copilot", 198982749, "Bot")


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    env = {"GITHUB_TOKEN": "", **env}
    r = cli(["check", *args], env=env)
    return r.exit_code, r.stdout, r.stderr


def ctx_for(event: str, payload: dict[str, object], sha: str | None = None) -> GitHubContext:
    return GitHubContext(
        event, f"{event}.json", payload, "acme/widget", ".", "https://api", "https://gh", None, sha=sha
    )


def test_agent_pr_editing_the_guard_workflow_fails_without_a_token(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, *AGENT_CI)
    env = actions_env(tmp_path / "run", "pull_request", pull_request_event(head=head, base=base), ws)
    code, out, err = run(env)
    assert code == 1, err  # step-up stays required: approvals could not be read (not exit 3)
    outputs = read_outputs(tmp_path / "run/output")
    assert outputs["decision"] == "step-up" and outputs["agent"] == "true" and outputs["findings"] == "1"
    assert "::error file=.github/workflows/guard.yml,title=pipeline-guard step-up%3A agent-ci-config::" in out
    assert "edits .github/workflows/guard.yml, which runs this guard" in out
    summary = (tmp_path / "run/summary").read_text()
    assert "Who may approve" in summary and "approvals could not be read" in summary
    assert "could not post check-run, status, comment" in err
    assert "fetched the missing history from origin" not in err  # a reason, not a report note


def test_pr_opened_by_an_agent_account_is_gated_without_markers(tmp_path: Path) -> None:
    # The commit claims a human author and carries no agent marker; the platform says Copilot opened it.
    _, ws, base, head = pr_repos(tmp_path, "tweak ci", {".github/workflows/guard.yml": WORKFLOW + "# x\n"})
    payload = pull_request_event(head=head, base=base, author=COPILOT_ACCOUNT, head_ref="fix-ci")
    code, out, _ = run(actions_env(tmp_path / "run", "pull_request", payload, ws), "--format", "json")
    data = json.loads(out[: out.rindex("}") + 1])
    assert code == 1
    assert data["identity"]["kind"] == "agent" and data["identity"]["vendor"] == "copilot"
    assert data["commits"][0]["identity"]["kind"] == "agent"
    assert any(a["role"] == "pr-author" and a["verified"] for a in data["actors"])


def test_human_pr_touching_ci_is_not_gated(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, "tweak ci", {".github/workflows/guard.yml": WORKFLOW + "# x\n"})
    env = actions_env(tmp_path / "run", "pull_request", pull_request_event(head=head, base=base), ws)
    code, _, err = run(env)
    assert code == 0, err
    assert read_outputs(tmp_path / "run/output")["agent"] == "false"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["pull_request"]["head"].pop("sha"), "missing pull_request.head.sha"),
        (
            lambda p: p["pull_request"]["base"].update(sha="not-a-sha"),
            "pull_request.base.sha is not a commit id",
        ),
        (lambda p: p["pull_request"].update(number="7"), "pull_request.number has the wrong type"),
        (lambda p: p.pop("pull_request"), "missing pull_request.head.sha"),
    ],
)
def test_malformed_payload_is_a_one_line_usage_error(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    _, ws, base, head = pr_repos(tmp_path, *AGENT_CI)
    payload = pull_request_event(head=head, base=base)
    mutate(payload)
    code, _, err = run(actions_env(tmp_path / "run", "pull_request", payload, ws))
    assert code == 2
    assert message in err and "event.json" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreadable_or_unsupported_events_exit_2(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, *AGENT_CI)
    env = actions_env(tmp_path / "run", "issues", pull_request_event(head=head, base=base), ws)
    code, _, err = run(env)
    assert code == 2 and "unsupported event 'issues'" in err
    Path(env["GITHUB_EVENT_PATH"]).write_text("{not json")
    code, _, err = run({**env, "GITHUB_EVENT_NAME": "pull_request"})
    assert code == 2 and "event payload is not JSON" in err
    code, _, err = run({**env, "GITHUB_EVENT_PATH": str(tmp_path / "nope.json")})
    assert code == 2 and "cannot read the event payload" in err
    code, _, err = run({**env, "GITHUB_EVENT_NAME": "pull_request"}, "--report", "check-runs")
    assert code == 2 and "unknown report 'check-runs'" in err


def test_shallow_clone_that_cannot_fetch_the_base_says_so(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, *AGENT_CI)
    git(ws, "remote", "remove", "origin")
    env = actions_env(tmp_path / "run", "pull_request", pull_request_event(head=head, base=base), ws)
    code, _, err = run(env)
    assert code == 2 and f"the head {head[:12]} is not in this clone" in err and "fetch-depth: 0" in err
    git(ws, "remote", "add", "origin", f"file://{tmp_path / 'elsewhere'}")
    Repo(tmp_path / "elsewhere").commit("unrelated", files={"x": "y\n"})
    code, _, err = run(env)
    assert code == 2 and "fetching from origin did not help" in err


def test_fork_pr_from_a_shallow_checkout_fetches_base_and_head(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, *AGENT_CI)
    assert (ws / ".git/shallow").exists()
    payload = pull_request_event(head=head, base=base)
    payload["pull_request"]["head"]["repo"]["full_name"] = "someone/widget-fork"
    code, out, _ = run(actions_env(tmp_path / "run", "pull_request", payload, ws), "--format", "json")
    data = json.loads(out[: out.rindex("}") + 1])
    assert code == 1 and data["head"] == head and data["base"] == base
    assert any("fork someone/widget-fork" in r for r in data["reasons"])
    assert any("fetched the missing history from origin" in r for r in data["reasons"])


def test_push_of_a_new_branch_is_judged_against_the_default_branch(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, *AGENT_CI)
    p = example("push")
    p.update(ref="refs/heads/feature", before=ZERO_SHA, after=head, created=True, deleted=False)
    p["repository"]["default_branch"] = "main"
    code, out, _ = run(actions_env(tmp_path / "run", "push", p, ws), "--format", "json")
    data = json.loads(out[: out.rindex("}") + 1])
    assert code == 1 and data["base"] == base and data["target_ref"] == "feature"
    assert [a["role"] for a in data["actors"]] == ["pusher"]
    p.update(before=head, after=ZERO_SHA, created=False, deleted=True)
    code, out, err = run(actions_env(tmp_path / "run2", "push", p, ws))
    assert code == 0 and "was deleted: no new commits to judge" in out, err


def test_real_payloads_of_every_event_give_a_range_and_verified_actors() -> None:
    review = example("pull_request_review", "submitted")
    rng = event_range(ctx_for("pull_request_review", review))
    assert (
        rng.head == review["pull_request"]["head"]["sha"] and rng.number == review["pull_request"]["number"]
    )
    assert [a.role for a in rng.actors] == ["pr-author"]  # the reviewer (sender) did not make the change
    opened = example("pull_request", "opened")
    roles = [a.role for a in event_range(ctx_for("pull_request_target", opened)).actors]
    assert roles == ["pr-author", "sender"]
    run_ = example("workflow_run", "completed", 2)
    rng = event_range(ctx_for("workflow_run", run_))
    assert [(a.role, a.login) for a in rng.actors] == [
        ("run-actor", "Codertocat"),
        ("triggering-actor", "Codertocat"),
    ]
    assert rng.number == 2 and rng.base == run_["workflow_run"]["pull_requests"][0]["base"]["sha"]
    group = example("merge_group", "checks_requested")
    rng = event_range(ctx_for("merge_group", group))
    assert (
        rng.merge_group_pr == 104
        and rng.target_ref == "main"
        and rng.base == group["merge_group"]["base_sha"]
    )
    dispatch = example("workflow_dispatch")
    rng = event_range(ctx_for("workflow_dispatch", dispatch, sha="a" * 40))
    assert rng.head == "a" * 40 and rng.actors[0].role == "sender" and rng.actors[0].verified


def test_guard_files_come_from_the_running_workflow_and_a_local_action(tmp_path: Path) -> None:
    (tmp_path / "act").mkdir()
    (tmp_path / "act/action.yml").write_text("name: x\n")
    ctx = ctx_for("push", {})
    ctx.workflow_ref = "acme/widget/.github/workflows/guard.yml@refs/heads/main"
    ctx.action_path = str(tmp_path / "act")
    files, notes = guard_files(ctx, tmp_path)
    assert files == (".github/workflows/guard.yml", "act/action.yml") and notes == []
    ctx.workflow_ref = "acme/central/.github/workflows/guard.yml@refs/heads/main"
    files, notes = guard_files(ctx, tmp_path)
    assert ".github/workflows/guard.yml" not in files and "outside this repository" in notes[0]


def test_annotations_and_outputs_cannot_be_forged_by_untrusted_text(tmp_path: Path) -> None:
    f = Finding("r", "path", "step-up", "50% done\n::error::forged", path="a,b:c\n::x.yml", line=3)
    line = annotation(f)
    assert line.count("\n") == 0
    assert line.startswith("::error file=a%2Cb%3Ac\\n%3A%3Ax.yml,line=3,title=")
    assert line.endswith("::50%25 done\\n::error::forged")
    out = tmp_path / "out"
    write_outputs(str(out), {"decision": "allow\nagent=true"})
    text = out.read_text()
    assert text.splitlines()[1:2] == ["allow"] and text.count("decision<<") == 1


def test_a_review_event_without_a_token_cannot_know_who_pushed_and_fails_closed(tmp_path: Path) -> None:
    # The review's sender is the reviewer, not the maker: without the push history the head may
    # be an agent's, so a markerless CI edit is judged as one (a review never relaxes the push's verdict).
    _, ws, base, head = pr_repos(tmp_path, "tweak ci", {".github/workflows/guard.yml": WORKFLOW + "# x\n"})
    payload = pull_request_event(head=head, base=base, event="pull_request_review", sender=("rev", 5, "User"))
    code, out, _ = run(actions_env(tmp_path / "run", "pull_request_review", payload, ws))
    assert code == 1 and "agent-ci-config" in out
    assert f"who pushed {head[:12]} could not be read" in out
    opened = pull_request_event(head=head, base=base)  # the maker's own event: the payload says who
    code, out, _ = run(actions_env(tmp_path / "run2", "pull_request", opened, ws))
    assert code == 0 and "could not be read" not in out


def test_a_persons_tag_push_on_an_agent_commit_already_on_the_branch_needs_step_up(tmp_path: Path) -> None:
    # The tag brings no new commit (the agent's is on main already) and a person pushes it: the
    # release boundary still carries the tagged commit's identity.
    origin, ws, _, head = pr_repos(tmp_path, f"bump\n\n{CLAUDE_TRAILER}\n", {"src/app.py": "x = 2\n"})
    origin.git("checkout", "-q", "main")
    origin.git("merge", "-q", "--ff-only", "feature")
    git(ws, "fetch", "-q", "origin", "main:refs/remotes/origin/main")
    p = example("push")
    p.update(ref="refs/tags/v3.0", before=ZERO_SHA, after=head, created=True, deleted=False)
    p["repository"]["default_branch"] = "main"
    p["sender"].update(login="alice", id=5, type="User")
    code, out, _ = run(actions_env(tmp_path / "run", "push", p, ws), "--format", "json")
    data = json.loads(out[: out.rindex("}") + 1])
    tag = [f for f in data["findings"] if f["category"] == "tag-created"]
    assert code == 1 and data["decision"] == "step-up", data["reasons"]
    assert tag and tag[0]["rule"] == "agent-release-boundary" and tag[0]["commit"] == head
    assert tag[0]["actors"] == ["agent:claude-code"]
