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
