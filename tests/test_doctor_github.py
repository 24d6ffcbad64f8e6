"""`pipeline-guard doctor` on GitHub.

Prism serves the prepared @octokit/openapi description (tests/standins/prism.py): every request the
doctor sends must satisfy GitHub's contract, and `Prefer: code=`/`example=` picks the documented
error or named example. Where GitHub's static examples cannot show a problem (an agent among bypass
actors, a sourceless required check, `can_admins_bypass`), `responses` serves bodies built from the
spec's own examples (`api_example`) with only the fields under test changed; `can_admins_bypass`
is returned by the real API but not declared in the description (google/go-github#2722).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from cliutil import cli
from standins.github import api_example
from standins.prism import prism, recording

from guard.doctor import Result
from guard.doors.github.doctor import token_lifetime

API = "https://api.github.test"
REPO = "/repos/acme/widget"
ADMIN = "repository Administration: read (classic PAT: repo; the Actions GITHUB_TOKEN cannot)"
CLAUDE_APP_ID = 1236702  # what GET /apps/claude answers in these tests


def doctor(*args: str, url: str = API, token: str = "ghs_test") -> tuple[int, str, str]:
    r = cli(["doctor", "--repo", "acme/widget", "--api-url", url, *args], env={"GITHUB_TOKEN": token})
    return r.exit_code, r.stdout, r.stderr


def results(*args: str, **kw: Any) -> tuple[int, list[dict[str, Any]]]:
    code, out, err = doctor("--format", "json", *args, **kw)
    assert code in (0, 1), err
    doc = json.loads(out)
    assert doc["exit_code"] == code
    return code, doc["results"]


def by(found: list[dict[str, Any]], check: str, subject: str | None = None) -> dict[str, Any]:
    (one,) = [r for r in found if r["check"] == check and (subject is None or r["subject"] == subject)]
    return one


@contextmanager
def prefer(suffix: str, value: str) -> Iterator[None]:
    """Send `Prefer: <value>` (`code=404`, `example=x`) to Prism for paths ending with `suffix`."""
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        if (request.url or "").split("?")[0].endswith(suffix):
            request.headers["Prefer"] = value
        return original(self, request, **kw)

    requests.Session.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        requests.Session.send = original  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- Prism


def test_every_request_satisfies_githubs_contract_and_each_check_reports() -> None:
    with recording() as rec:
        code, found = results("--environment", "production", "--environment", "staging", url=prism().url)
    assert code == 1
    assert [s.status for s in rec.sent] == [200] * len(rec.sent)
    assert {s.url.split("?")[0].removeprefix(prism().url) for s in rec.sent} == {
        REPO,
        f"{REPO}/branches/master/protection",
        f"{REPO}/rules/branches/master",
        f"{REPO}/rulesets/42",
        f"{REPO}/rulesets/73",
        f"{REPO}/actions/permissions/workflow",
        f"{REPO}/environments",
        f"{REPO}/copilot/cloud-agent/configuration",
    }
    assert all(s.method == "GET" for s in rec.sent)  # read-only
    # GitHub's examples: protection requires only travis-ci; Actions may approve PRs; token read-only.
    assert by(found, "required-check")["status"] == "warn"
    assert by(found, "required-check")["message"] == (
        "'pipeline-guard' is not a required status check: a failing or missing guard does not block merging"
    )
    assert by(found, "bypass-actors", "ruleset super cool ruleset (42)") == {
        "check": "bypass-actors",
        "status": "ok",
        "subject": "ruleset super cool ruleset (42)",
        "message": "1 bypass actor(s), none a known agent",
        "fix": None,
    }
    assert by(found, "actions-approve-prs")["status"] == "warn"
    assert by(found, "workflow-token")["status"] == "ok"
    assert by(found, "environment-reviewers", "environment staging")["status"] == "ok"
    admin = by(found, "environment-admin-bypass", "environment staging")
    assert admin["status"] == "could-not-verify"
    assert admin["message"] == "could not verify: the API did not return can_admins_bypass"
    assert by(found, "environment-exists", "environment production")["status"] == "warn"
    assert by(found, "environment-exists", "environment staging")["status"] == "ok"
    assert by(found, "copilot-workflow-approval")["status"] == "ok"
    assert by(found, "token-lifetime")["status"] == "ok"


def test_copilot_workflows_without_approval_warn() -> None:
    with prefer("/copilot/cloud-agent/configuration", "example=configured"):
        _, found = results(url=prism().url)
    r = by(found, "copilot-workflow-approval")
    assert r["status"] == "warn"
    assert r["fix"] == "tick Settings > Copilot > Cloud agent > 'Require approval for workflow runs'"


def test_settings_the_token_may_not_read_are_could_not_verify_never_ok() -> None:
    prefer = {
        ("GET", "/branches/master/protection"): "404",
        ("GET", "/copilot/cloud-agent/configuration"): "403",
    }
    with recording(prefer) as rec:
        code, found = results(url=prism().url)
    assert code == 1
    assert {s.status for s in rec.sent if "protection" in s.url or "copilot" in s.url} == {404, 403}
    for check, subject in (
        ("required-check", "branch master"),
        ("bypass-actors", "branch master protection"),
    ):
        r = by(found, check, subject)
        assert r["status"] == "could-not-verify"
        assert r["message"].startswith(f"could not verify: needs {ADMIN} (HTTP 404")
    copilot = by(found, "copilot-workflow-approval")
    assert copilot["status"] == "could-not-verify"
    assert copilot["message"].startswith(
        "could not verify: needs repository admin access to the Copilot cloud agent settings "
        "(classic PAT: repo) (HTTP 403"
    )


def test_text_output_one_line_per_check_with_what_to_change() -> None:
    code, out, _ = doctor(url=prism().url)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "pipeline-guard doctor: github acme/widget"
    assert "warn              actions-approve-prs: GitHub Actions may create and approve pull requests" in out
    assert (
        "                    -> untick Settings > Actions > General > "
        "'Allow GitHub Actions to create and approve pull requests'" in lines
    )
    assert lines[-1] == "7 ok, 2 warn, 1 could-not-verify"


def test_an_unknown_repository_is_a_usage_error() -> None:
    with recording({("GET", "/repos/acme/widget"): "404"}):
        code, out, err = doctor(url=prism().url)
    assert code == 2 and out == ""
    assert err.startswith("pipeline-guard: error: --repo: repository acme/widget not found or not visible")
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- spec-shaped bodies


def _error(message: str) -> dict[str, str]:
    """GitHub's `basic-error` schema."""
    return {"message": message, "documentation_url": "https://docs.github.com/rest"}


class Site:
    """A GitHub whose answers are the spec's examples, with the fields under test replaced."""

    def __init__(self) -> None:
        repo = api_example("/repos/{owner}/{repo}")
        repo["default_branch"] = "main"
        self.routes: dict[str, tuple[int, Any, dict[str, str]]] = {
            REPO: (200, repo, {}),
            f"{REPO}/branches/main/protection": (404, _error("Branch not protected"), {}),
            f"{REPO}/rules/branches/main": (200, [], {}),
            f"{REPO}/actions/permissions/workflow": (
                200,
                {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False},
                {},
            ),
            f"{REPO}/environments": (200, {"total_count": 0, "environments": []}, {}),
            f"{REPO}/copilot/cloud-agent/configuration": (
                200,
                api_example("/repos/{owner}/{repo}/copilot/cloud-agent/configuration"),
                {},
            ),
        }
        self.apps = {"claude": CLAUDE_APP_ID}

    def set(self, path: str, body: Any, status: int = 200, **headers: str) -> None:
        self.routes[path] = (status, body, headers)

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        path = re.sub(r"^https://[^/]+", "", request.url or "").split("?")[0]  # PyGithub adds :443
        m = re.fullmatch(r"/apps/([^/]+)", path)
        if m:
            if m.group(1) not in self.apps:
                return 404, {}, json.dumps(_error("Not Found"))
            app = api_example("/apps/{app_slug}")
            app.update(id=self.apps[m.group(1)], slug=m.group(1))
            return 200, {}, json.dumps(app)
        status, body, headers = self.routes.get(path, (404, _error("Not Found"), {}))
        return status, headers, json.dumps(body)

    @contextmanager
    def serve(self) -> Iterator[responses.RequestsMock]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.add_callback(
                responses.GET, re.compile(r"https://api\.github\.test(:443)?/.*"), callback=self._answer
            )
            yield rsps


def test_a_clean_repository_is_all_ok_and_exits_0() -> None:
    site = Site()
    ruleset_rule = {
        "type": "required_status_checks",
        "ruleset_source_type": "Repository",
        "ruleset_source": "acme/widget",
        "ruleset_id": 7,
        "parameters": {
            "strict_required_status_checks_policy": True,
            "required_status_checks": [{"context": "pipeline-guard", "integration_id": 15368}],
        },
    }
    site.set(f"{REPO}/rules/branches/main", [ruleset_rule])
    ruleset = api_example("/repos/{owner}/{repo}/rulesets/{ruleset_id}")
    ruleset.update(id=7, name="main", bypass_actors=[])
    site.set(f"{REPO}/rulesets/7", ruleset)
    with site.serve():
        code, out, err = doctor(token="github_pat_x")
    assert code == 1, err  # a fine-grained PAT with no expiry header is long-lived
    assert "warn              token-lifetime: fine-grained personal access token without an expiry" in out
    site.routes[REPO] = (*site.routes[REPO][:2], {"github-authentication-token-expiration": "2030-01-01 UTC"})
    with site.serve():
        code, out, err = doctor(token="github_pat_x")
    assert code == 0, out
    assert (
        "ok                required-check [branch main]: "
        "'pipeline-guard' is required by ruleset 7 from app id 15368" in out
    )
    assert out.splitlines()[-1] == "7 ok, 0 warn, 0 could-not-verify"


def test_a_required_check_without_source_warns_and_names_the_fix() -> None:
    site = Site()
    protection = api_example("/repos/{owner}/{repo}/branches/{branch}/protection")
    protection["required_status_checks"]["checks"] = [{"context": "pipeline-guard", "app_id": None}]
    site.set(f"{REPO}/branches/main/protection", protection)
    with site.serve():
        _, found = results()
    r = by(found, "required-check")
    assert r["status"] == "warn"
    assert r["message"] == (
        "'pipeline-guard' is required by branch protection but accepted from any source: "
        "a status posted with any write token (an agent's too) satisfies it"
    )
    assert "GitHub Actions: app id 15368" in r["fix"]


def test_a_required_check_from_another_app_than_expected_warns() -> None:
    site = Site()
    protection = api_example("/repos/{owner}/{repo}/branches/{branch}/protection")
    protection["required_status_checks"]["checks"] = [{"context": "pipeline-guard", "app_id": 99}]
    site.set(f"{REPO}/branches/main/protection", protection)
    with site.serve():
        _, found = results("--app-id", "15368")
    r = by(found, "required-check")
    assert r["status"] == "warn" and "accepted from app id 99, not app id 15368" in r["message"]


def serve_ruleset(site: Site, ruleset: dict[str, Any], source_type: str, source: str) -> None:
    """main under one deletion rule from `ruleset` (defined at `source`), and the ruleset itself."""
    rule = {"type": "deletion", "ruleset_source_type": source_type, "ruleset_source": source}
    site.set(f"{REPO}/rules/branches/main", [{**rule, "ruleset_id": ruleset["id"]}])
    site.set(f"{REPO}/rulesets/{ruleset['id']}", ruleset)


def test_agents_among_ruleset_bypass_actors_warn() -> None:
    site = Site()
    ruleset = api_example("/repos/{owner}/{repo}/rulesets/{ruleset_id}")
    ruleset.update(
        id=9,
        name="protect main",
        bypass_actors=[
            {"actor_id": CLAUDE_APP_ID, "actor_type": "Integration", "bypass_mode": "always"},
            {"actor_id": 198982749, "actor_type": "User", "bypass_mode": "exempt"},  # copilot-swe-agent
            {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"},
            {"actor_id": 31337, "actor_type": "Integration", "bypass_mode": "pull_request"},
        ],
    )
    serve_ruleset(site, ruleset, "Organization", "acme")
    with site.serve():
        _, found = results()
    r = by(found, "bypass-actors", "ruleset protect main (9)")
    assert r["status"] == "warn"
    assert r["message"] == (
        "agents may bypass this ruleset: app claude (id 1236702, agent:claude-code), bypass always; "
        "user id 198982749 (agent:copilot), bypass exempt"
    )


def test_hidden_bypass_actors_could_not_be_verified() -> None:
    site = Site()
    ruleset = api_example("/repos/{owner}/{repo}/rulesets/{ruleset_id}")
    del ruleset["bypass_actors"]  # GitHub omits it for tokens without write access to the ruleset
    ruleset.update(id=3, name="r")
    serve_ruleset(site, ruleset, "Repository", "acme/widget")
    with site.serve():
        _, found = results()
    r = by(found, "bypass-actors", "ruleset r (3)")
    assert r["status"] == "could-not-verify"
    assert r["message"] == (
        "could not verify: needs write access to the ruleset (repository admin; org rulesets: org admin) "
        "(the API did not return bypass_actors)"
    )


def test_an_agent_app_allowed_to_bypass_pull_request_reviews_warns() -> None:
    site = Site()
    protection = api_example("/repos/{owner}/{repo}/branches/{branch}/protection")
    app = protection["required_pull_request_reviews"]["dismissal_restrictions"]["apps"][0]
    app = {**app, "slug": "cursor"}
    protection["required_pull_request_reviews"]["bypass_pull_request_allowances"] = {
        "users": [],
        "teams": [],
        "apps": [app],
    }
    site.set(f"{REPO}/branches/main/protection", protection)
    with site.serve():
        _, found = results()
    r = by(found, "bypass-actors", "branch main protection")
    assert r["status"] == "warn"
    assert r["message"] == "agents may bypass required pull request reviews: app cursor (agent:cursor)"


def test_write_token_and_actions_approving_prs_warn_and_403_is_could_not_verify() -> None:
    site = Site()
    site.set(
        f"{REPO}/actions/permissions/workflow",
        {"default_workflow_permissions": "write", "can_approve_pull_request_reviews": True},
    )
    with site.serve():
        _, found = results()
    assert by(found, "workflow-token")["status"] == "warn"
    assert (
        by(found, "workflow-token")["message"]
        == "the default GITHUB_TOKEN has write access to the repository"
    )
    assert by(found, "actions-approve-prs")["status"] == "warn"
    site.set(f"{REPO}/actions/permissions/workflow", _error("Resource not accessible by integration"), 403)
    with site.serve():
        _, found = results()
    for check in ("workflow-token", "actions-approve-prs"):
        assert by(found, check)["message"] == (
            f"could not verify: needs {ADMIN} (HTTP 403 Resource not accessible by integration)"
        )


def test_environments_with_admin_bypass_no_reviewers_or_agent_reviewers_warn() -> None:
    site = Site()
    listing = api_example("/repos/{owner}/{repo}/environments")
    staging = listing["environments"][0]
    open_env = {**staging, "name": "production", "protection_rules": [], "can_admins_bypass": True}
    agent_env = json.loads(json.dumps(staging))
    agent_env.update(name="release", can_admins_bypass=False)
    reviewers = agent_env["protection_rules"][1]["reviewers"]
    reviewers[0]["reviewer"].update(login="Copilot", id=198982749, type="Bot")
    listing.update(total_count=2, environments=[open_env, agent_env])
    site.set(f"{REPO}/environments", listing)
    with site.serve():
        _, found = results()
    assert by(found, "environment-reviewers", "environment production") == {
        "check": "environment-reviewers",
        "status": "warn",
        "subject": "environment production",
        "message": "no required reviewers: a deploy to it needs no one's approval",
        "fix": "add required reviewers (people, not agents) and tick 'Prevent self-review'",
    }
    assert by(found, "environment-admin-bypass", "environment production")["status"] == "warn"
    assert by(found, "environment-admin-bypass", "environment release")["status"] == "ok"
    r = by(found, "environment-reviewers", "environment release")
    assert r["status"] == "warn" and r["message"] == "agents are required reviewers: Copilot (agent:copilot)"


def test_a_classic_pat_is_a_long_lived_token() -> None:
    site = Site()
    site.routes[REPO] = (*site.routes[REPO][:2], {"X-OAuth-Scopes": "repo, workflow"})
    with site.serve():
        _, found = results(token="ghp_x")
    r = by(found, "token-lifetime")
    assert r["status"] == "warn"
    assert r["message"] == (
        "this run uses a classic personal access token (scopes: repo, workflow): "
        "long-lived and repository-wide"
    )


@pytest.mark.parametrize(
    ("token", "headers", "status"),
    [
        ("ghs_a", {}, "ok"),
        ("ghu_a", {}, "ok"),
        ("gho_a", {}, "warn"),
        ("ghp_a", {}, "warn"),
        ("opaque", {"x-oauth-scopes": ""}, "warn"),  # GitHub sends the header for classic/OAuth tokens
        ("opaque", {}, "could-not-verify"),
    ],
)
def test_token_kinds(token: str, headers: dict[str, str], status: str) -> None:
    r: Result = token_lifetime(token, headers)
    assert r.status == status


def test_an_unreachable_api_fails_closed_with_one_line() -> None:
    code, out, err = doctor(url="http://127.0.0.1:9")
    assert code == 3 and out == ""
    assert err.startswith("pipeline-guard: error: cannot read repository acme/widget: the API is unreachable")
    assert err.count("\n") == 1


def test_no_token_is_a_usage_error() -> None:
    r = cli(["doctor", "--repo", "acme/widget", "--token-env", "NOPE"], env={"NOPE": ""})
    assert r.exit_code == 2
    assert r.stderr == "pipeline-guard: error: --token-env: no token in $NOPE\n"


def test_environments_referenced_by_a_workflow_must_exist(tmp_path: Path) -> None:
    wf = tmp_path / "deploy.yml"
    wf.write_text("on: push\njobs:\n  d: {runs-on: x, environment: production, steps: []}\n")
    _, found = results("--ci-file", str(wf), "--environment", "staging", url=prism().url)
    assert by(found, "environment-exists", "environment production")["status"] == "warn"
    assert by(found, "environment-exists", "environment staging")["status"] == "ok"


def test_environments_beyond_the_first_page_are_not_claimed_fine() -> None:
    site = Site()
    listing = api_example("/repos/{owner}/{repo}/environments")
    listing["total_count"] = 101
    site.set(f"{REPO}/environments", listing)
    with site.serve():
        _, found = results()
    r = by(found, "environments")
    assert r["status"] == "could-not-verify"
    assert r["message"] == "could not verify: only 1 of 101 environments were read"
