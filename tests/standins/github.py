"""Real GitHub inputs for tests: @octokit/webhooks-examples payloads, an Actions environment, and
@octokit/fixtures recordings replayed with `responses`.

Payloads are GitHub's own examples; tests only point their SHAs, refs and numbers into a real local
repository (the rest of the payload stays as GitHub sent it).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from standins.prism import node_modules


@lru_cache(maxsize=1)
def _examples() -> dict[str, list[dict[str, Any]]]:
    index = node_modules() / "@octokit/webhooks-examples/api.github.com/index.json"
    if not index.is_file():
        pytest.fail(f"@octokit/webhooks-examples is not installed ({index}): run `bash .ci/run`")
    data = json.loads(index.read_text(encoding="utf-8"))
    return {e["name"]: e["examples"] for e in data}


def example(event: str, action: str | None = None, n: int = 0) -> dict[str, Any]:
    """A deep copy of the n-th real example payload of `event` (with `action`, when given)."""
    found = [e for e in _examples()[event] if action is None or e.get("action") == action]
    if len(found) <= n:
        pytest.fail(f"no example {event}.{action} #{n} in @octokit/webhooks-examples")
    return copy.deepcopy(found[n])


def pull_request_event(
    action: str = "opened",
    *,
    head: str,
    base: str,
    head_ref: str = "feature",
    base_ref: str = "main",
    number: int = 7,
    author: tuple[str, int, str] = ("Codertocat", 21031067, "User"),
    sender: tuple[str, int, str] | None = None,
    repo: str = "acme/widget",
    event: str = "pull_request",
) -> dict[str, Any]:
    """A real `pull_request` (or `pull_request_review`) example pointed at a local repository."""
    p = example(event, action if event == "pull_request" else "submitted")
    pr = p["pull_request"]
    pr.update(number=number, commits=1)
    pr["head"].update(sha=head, ref=head_ref)
    pr["base"].update(sha=base, ref=base_ref)
    pr["user"].update(login=author[0], id=author[1], type=author[2])
    for side in ("head", "base"):
        if isinstance(pr[side].get("repo"), dict):
            pr[side]["repo"]["full_name"] = repo
    p["repository"].update(full_name=repo, default_branch="main")
    who = sender or author
    p["sender"].update(login=who[0], id=who[1], type=who[2])
    if event == "pull_request_review":
        p["review"]["commit_id"] = head
    return p


def actions_env(
    tmp: Path, event: str, payload: dict[str, Any], workspace: Path, **extra: str
) -> dict[str, str]:
    """The variables an Actions runner sets for one step, files included."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    for name in ("output", "summary"):
        (tmp / name).write_text("")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": payload.get("repository", {}).get("full_name", "acme/widget"),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary"),
        "GITHUB_RUN_ID": "42",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_WORKFLOW_REF": "acme/widget/.github/workflows/guard.yml@refs/pull/7/merge",
    }
    env.update(extra)
    return env


def read_outputs(path: Path) -> dict[str, str]:
    """Parse `name<<DELIM` blocks (and plain `name=value` lines) from GITHUB_OUTPUT."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
        else:
            name, _, value = line.partition("=")
            if name:
                out[name] = value
            i += 1
    return out


def fixture_scenario(name: str) -> list[dict[str, Any]]:
    path = node_modules() / f"@octokit/fixtures/scenarios/api.github.com/{name}/normalized-fixture.json"
    if not path.is_file():
        pytest.fail(f"@octokit/fixtures scenario {name} is missing ({path}): run `bash .ci/run`")
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


WORKFLOW = (
    "on: pull_request\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"
)


def pr_repos(
    tmp: Path,
    message: str,
    files: dict[str, str | bytes],
    base_files: dict[str, str | bytes] | None = None,
    **commit: Any,
) -> tuple[Any, Path, str, str]:
    """An `origin` with main and a PR branch `feature`, and a shallow clone of main as the workspace.

    Returns (origin, workspace, base sha, head sha): the workspace lacks the PR head, as after a
    default `actions/checkout` of another ref, so the door has to fetch it.
    """
    from gitutil import Repo, git

    origin = Repo(tmp / "origin")
    origin.commit(
        "initial", files={"README.md": "hi\n", ".github/workflows/guard.yml": WORKFLOW, **(base_files or {})}
    )
    base = origin.head()
    origin.git("checkout", "-q", "-b", "feature")
    head = origin.commit(message, files=files, **commit)
    origin.git("checkout", "-q", "main")
    git(tmp, "clone", "-q", "--depth=1", "--no-local", f"file://{origin.path}", "ws")
    return origin, tmp / "ws", base, head


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    from standins.prism import SPEC

    if not SPEC.is_file():
        pytest.fail(f"GitHub's OpenAPI description is missing at {SPEC}: run `bash .ci/run`")
    data: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return data


def api_example(template: str, method: str = "get", status: str = "200") -> Any:
    """The example response GitHub's OpenAPI description gives for an operation (a deep copy)."""
    from standins.prep_github_spec import _resolve

    spec = _spec()
    content = spec["paths"][template][method]["responses"][status]["content"]["application/json"]
    ex = next(iter(content["examples"].values()))
    if "$ref" in ex:
        ex = _resolve(spec, ex["$ref"])
    return copy.deepcopy(ex["value"])
