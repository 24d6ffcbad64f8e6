"""GitHub door + CODEOWNERS: with `step_up.codeowners`, only an owner of the gated paths (a login,
or a member of an owning team, as the API says) passes the gate. Responses are GitHub's own spec
examples served through `responses` (see test_github_api.FakeGitHub)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import responses
from standins.github import WORKFLOW, actions_env, api_example, pr_repos, pull_request_event
from test_github_api import AGENT_MSG, FakeGitHub, check

OWNERS = "* @alice\n/.github/workflows/ @acme/ci-team\n"


def test_only_code_owners_pass_and_team_membership_is_read(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(
        tmp_path,
        AGENT_MSG,
        {".github/workflows/guard.yml": WORKFLOW + "# more\n"},
        base_files={".github/CODEOWNERS": OWNERS, ".pipeline-guard.yml": "step_up: {codeowners: true}\n"},
    )
    event = pull_request_event(head=head, base=base)
    env = actions_env(
        tmp_path / "run",
        "pull_request",
        event,
        ws,
        GITHUB_TOKEN="ghs_test",
        GITHUB_API_URL="https://api.github.com",
    )
    fake = FakeGitHub(head)
    fake.review("alice", head)  # owns "*", but the workflows line wins
    membership = api_example("/orgs/{org}/teams/{team_slug}/memberships/{username}")
    membership.update(state="active")
    asked: list[str] = []

    def member(request: Any) -> tuple[int, dict[str, str], str]:
        login = request.url.rsplit("/", 1)[1]
        asked.append(login)
        if login == "carol":
            return 200, {}, json.dumps(membership)
        return 404, {}, '{"message": "Not Found"}'

    def run() -> tuple[int, str, str]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake.serve(rsps)
            rsps.add_callback("GET", re.compile(r".*/orgs/acme/teams/ci-team/memberships/[^/]+$"), member)
            return check(env)

    code, out, _ = run()
    assert code == 1 and "does not own the gated paths in CODEOWNERS" in out
    assert "alice" in asked  # the CODEOWNERS team was looked up for the approver
    fake.review("carol", head)
    code, out, err = run()
    assert code == 0, out + err
