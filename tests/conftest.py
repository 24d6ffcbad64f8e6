from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gitutil import Repo
from hypothesis import settings

if TYPE_CHECKING:
    from standins.gitlab_prism import Prism

# `HYPOTHESIS_PROFILE=long pytest -m "not integration"` is the maintainers' longer fuzz run.
settings.register_profile("long", max_examples=5000, deadline=None)
settings.register_profile("default", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# Variables through which a CI host, a git host or an agent runtime speaks to the guard. A test
# must never pick a door (or an agent) from the machine it runs on: each test that wants one sets it.
_HOST_PREFIXES = (
    *("GITHUB_", "GITLAB_", "CI_", "GL_", "GITEA_", "RUNNER_", "ACTIONS_", "INPUT_", "GIT_PUSH_OPTION"),
)
_HOST_NAMES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "PIPELINE_GUARD_POLICY", "PIPELINE_GUARD_LINE_BUDGET")


def _runtime_names() -> set[str]:
    """The agent-runtime variables the fingerprint catalogue reads (rules/agents.yml `env:`)."""
    import yaml

    data = yaml.safe_load((Path(__file__).parent.parent / "rules" / "agents.yml").read_text())
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            env = node.get("env")
            if isinstance(env, dict):
                names.update(str(k) for k in env)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return names


_RUNTIME_NAMES = _runtime_names()


@pytest.fixture(autouse=True)
def _no_host_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_HOST_PREFIXES) or name in _HOST_NAMES or name in _RUNTIME_NAMES:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A fresh repository with one human commit on main."""
    r = Repo(tmp_path / "repo")
    r.commit("initial", files={"README.md": "hello\n", "src/app.py": "print('hi')\n"})
    return r


def node_modules() -> Path:
    """The npm stand-ins .ci/run installs. Missing ones fail the test (never a silent skip)."""
    root = Path(
        os.environ.get("PG_NODE_MODULES", Path(__file__).parent.parent / ".ci/cache/node/node_modules")
    )
    if not root.is_dir():
        pytest.fail(f"npm stand-ins not installed at {root}: run `bash .ci/run` (or set PG_NODE_MODULES)")
    return root


@pytest.fixture(scope="session")
def gitlab_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """Prism serving GitLab's OpenAPI extract (with the documented overlays), once per test run."""
    from standins.gitlab_prism import start_prism

    server = start_prism(node_modules(), tmp_path_factory.mktemp("gitlab-prism"))
    yield server
    server.stop()


# Contract tests run the real stand-ins .ci/run installs (Prism with GitHub's and GitLab's OpenAPI
# descriptions, act, gitlab-ci-local, the SARIF Multitool, redis-server, published webhook
# schemas and payloads). They are marked `integration`, so `pytest -m "not integration"` is the
# hermetic unit run that needs nothing beyond the Python dependencies; .ci/run proves it by running
# that selection with the stand-ins hidden (PG_NODE_MODULES pointing nowhere).
_STANDIN_FIXTURES = frozenset({"prism", "gitlab_prism", "redis_url"})
_CONTRACT_MODULES = frozenset(
    {
        "test_github_action",
        "test_gitlab_ci_local",
        "test_github_api",
        "test_github_codeowners",
        "test_doctor_github",
        "test_doctor_gitlab",
        "test_deploy_github",
        "test_deploy_gitlab",
        "test_serve",
        "test_serve_redis",
        # GitHub's published webhook payloads (@octokit/webhooks-examples) drive these:
        "test_github_event",
        "test_event_fuzz",
        "test_pr_description",
        "test_trusted_judge",
    }
)
_CONTRACT_TESTS = frozenset(
    {
        "test_sarif_passes_the_multitool",
        "test_an_agent_account_pushing_makes_the_change_autonomous_in_json",
        "test_github_door_shows_no_secret_from_the_pr_the_commits_or_the_branch",
        "test_github_pull_request_with_hostile_tags_reads_the_base_branch_policy",
        "test_github_push_of_a_new_branch_with_hostile_tags_is_judged_from_the_default_branch",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__ if isinstance(item, pytest.Function) and item.module else ""
        uses = set(getattr(item, "fixturenames", ()))
        name = item.name.split("[")[0]
        if module in _CONTRACT_MODULES or uses & _STANDIN_FIXTURES or name in _CONTRACT_TESTS:
            item.add_marker(pytest.mark.integration)
