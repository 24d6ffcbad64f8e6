"""Issue 16 (part): a bot the catalogue does not know is `unknown`, never trusted as automation.

Attack: an agent (or anyone) commits under a made-up GitHub App identity, `deploy-helper[bot]`,
so the old rule "any [bot] is automation" exempted the change from every agent rule. Real git,
the real CLI, the built-in policy; a policy that declares the bot restores what it says.
"""

from __future__ import annotations

import json
from typing import Any

from cliutil import cli
from gitutil import Repo

BOT = ("deploy-helper[bot]", "123456+deploy-helper[bot]@users.noreply.github.com")
DEPENDABOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
WF = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"


def judge(repo: Repo, base: str) -> tuple[int, dict[str, Any]]:
    r = cli(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD", "--format", "json"])
    return r.exit_code, json.loads(r.stdout)


def ci_edit_by(repo: Repo, author: tuple[str, str], policy: str | None = None) -> tuple[int, dict[str, Any]]:
    repo.commit(
        "ci", files={".github/workflows/ci.yml": WF, **({".pipeline-guard.yml": policy} if policy else {})}
    )
    base = repo.head()
    repo.git("checkout", "-q", "-b", "bot")
    repo.commit("update ci", files={".github/workflows/ci.yml": WF + "# x\n"}, author=author)
    return judge(repo, base)


def test_an_undeclared_bot_editing_ci_is_gated_and_told_how_to_declare(repo: Repo) -> None:
    code, data = ci_edit_by(repo, BOT)
    assert code == 1 and data["decision"] == "step-up"
    assert data["commits"][0]["identity"]["kind"] == "unknown"
    assert data["commits"][0]["identity"]["vendor"] == "deploy-helper"
    assert "agent-ci-config" in {f["rule"] for f in data["findings"]}
    assert any("Declare each under identity.accounts" in r and "deploy-helper" in r for r in data["reasons"])


def test_a_declared_bot_is_what_the_policy_says(repo: Repo) -> None:
    policy = (
        "identity:\n  accounts:\n"
        "    - {kind: automation, vendor: deploy-helper, logins: ['deploy-helper[bot]']}\n"
    )
    code, data = ci_edit_by(repo, BOT, policy)
    rules = {f["rule"] for f in data["findings"]}
    assert data["commits"][0]["identity"]["kind"] == "automation" and "agent-ci-config" not in rules
    # as for any automation a commit only claims: a protected path still wants a person (existing rule)
    assert rules == {"claimed-bot-on-protected-path", "claimed-identity"} and code == 1


def test_known_automation_stays_automation(repo: Repo) -> None:
    _, data = ci_edit_by(repo, DEPENDABOT)
    assert data["commits"][0]["identity"]["kind"] == "automation"
    assert {f["rule"] for f in data["findings"]} == {"claimed-bot-on-protected-path", "claimed-identity"}
