"""CODEOWNERS step-up: a code owner of the gated paths must approve, as the trusted ref says."""

from __future__ import annotations

from gitutil import CLAUDE_TRAILER, Repo

from guard.codeowners import normalise, parse
from guard.engine import evaluate
from guard.git.repo import GitRepo
from guard.model import Approval, Decision
from guard.trusted import load_trusted_policy

OWNERS = """\
# default owner
*                     @alice
/.github/workflows/   @acme/ci-team   # CI belongs to the CI team
docs/                                   # nobody owns docs
[Section]
/src/payments/        @Carol payments@example.com
"""
POLICY = "step_up: {codeowners: true}\n"


def test_last_matching_line_wins_and_empty_owner_unassigns() -> None:
    co = parse(OWNERS)
    assert co.owners_for("README.md") == ("@alice",)
    assert co.owners_for(".github/workflows/ci.yml") == ("@acme/ci-team",)
    assert co.owners_for("docs/guide.md") == ()
    assert co.owners_for("src/payments/pay.py") == ("@Carol", "payments@example.com")
    assert normalise("@Carol") == "@carol" and normalise("dave") == "@dave"


def judged(repo: Repo, *approvals: tuple[str, tuple[str, ...]]) -> Decision:
    git = GitRepo(repo.path)
    change = git.build_change("main", "agent", door="github", target_ref="main")
    trusted = load_trusted_policy(git, change.base, change.head)
    for who, teams in approvals:
        change.approvals.append(
            Approval(
                who,
                "review",
                "github-api",
                head_sha=change.head,
                permission="write",
                approver_type="User",
                teams=teams,
            )
        )
    return evaluate(change, trusted.policy, "enforce", codeowners=trusted.codeowners)


def agent_ci_change(repo: Repo, extra: dict[str, str] | None = None) -> None:
    repo.git("checkout", "-q", "-b", "agent")
    files = {".github/workflows/ci.yml": "on: push\n", **(extra or {})}
    repo.commit(f"CI\n\n{CLAUDE_TRAILER}", files=files)


def test_only_a_code_owner_of_the_gated_path_counts(repo: Repo) -> None:
    repo.commit("owners", files={".github/CODEOWNERS": OWNERS, ".pipeline-guard.yml": POLICY})
    agent_ci_change(repo)
    d = judged(repo, ("alice", ()))  # owns "*", but the workflow line wins
    assert d.verdict == "step-up"
    assert d.step_up is not None
    assert "does not own the gated paths" in d.step_up.rejected[0][1]
    assert any("@acme/ci-team" in e for e in d.step_up.eligible)
    d = judged(repo, ("bob", ("@acme/ci-team",)))
    assert d.verdict == "warn" and [a.approver for a in d.step_up.counted] == ["bob"]  # type: ignore[union-attr]


def test_codeowners_edited_by_the_change_does_not_count(repo: Repo) -> None:
    repo.commit("owners", files={".github/CODEOWNERS": OWNERS, ".pipeline-guard.yml": POLICY})
    agent_ci_change(repo, {".github/CODEOWNERS": "* @mallory\n"})
    d = judged(repo, ("mallory", ()))
    assert d.verdict == "step-up"
    assert any(f.rule == "agent-codeowners" for f in d.findings)


def test_required_code_owner_without_a_codeowners_file_fails_closed(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": POLICY})
    agent_ci_change(repo)
    d = judged(repo, ("alice", ()))
    assert d.verdict == "step-up"
    assert "no CODEOWNERS file is on the trusted ref" in d.step_up.rejected[0][1]  # type: ignore[union-attr]
    assert any("no CODEOWNERS file" in r for r in d.reasons)


def test_unowned_gated_path_falls_back_to_the_other_criteria(repo: Repo) -> None:
    repo.commit("owners", files={"CODEOWNERS": "/src/ @alice\n", ".pipeline-guard.yml": POLICY})
    agent_ci_change(repo)
    assert judged(repo, ("bob", ())).verdict == "warn"
