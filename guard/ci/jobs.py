"""CI configuration as comparable jobs: GitHub workflows, composite actions and GitLab CI.

Both sides of a change (every CI file before, every CI file after) become flat lists of `Job`s
with what each job runs and asks for, and where (file, line). Comparing jobs rather than files is
what makes the checks diff-aware across moves: a job moved to another workflow, split into a
reusable workflow or moved into a GitLab include finds its old self (`CiDiff.counterpart`) and
only what it gained is reported.

Files outside the change are identical on both sides, so they cannot add anything: only the files
the change touches (and GitLab files they include) are read.

This module holds the vocabulary (Job, Command, Perms, CiSide) and what both dialects share;
github.py and gitlab.py parse, guard/checks/ci_diff.py compares the two sides of a change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from guard.safeyaml import DocumentError, LineDict

Loc = tuple[str, int]  # (path, 1-based line)


LEVELS = {"none": 0, "read": 1, "write": 2}


GITLAB_RESERVED = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "types",
        "spec",
    }
)


_WS = re.compile(r"\s+")


def ci_kind(path: str) -> str | None:
    """'workflow', 'action' or 'gitlab' for files whose format we know by their path."""
    low = path.lower()
    name = low.rsplit("/", 1)[-1]
    if low.startswith(".github/workflows/") and low.endswith((".yml", ".yaml")):
        return "workflow"
    if name in ("action.yml", "action.yaml"):
        return "action"
    if name == ".gitlab-ci.yml" or name.endswith(".gitlab-ci.yml"):
        return "gitlab"
    if low.startswith((".gitlab/ci/", ".gitlab-ci/")) and low.endswith((".yml", ".yaml")):
        return "gitlab"
    return None


def norm(text: str) -> str:
    """Whitespace- and quote-insensitive form, so reformatting compares equal."""
    return _WS.sub(" ", text.replace("'", '"')).strip()


@dataclass(frozen=True)
class Perms:
    """An explicit GitHub `permissions:` block."""

    kind: str  # "map", "write-all", "read-all"
    scopes: tuple[tuple[str, str], ...]
    loc: Loc
    scope_lines: tuple[tuple[str, int], ...] = ()
    workflow_level: bool = False

    def level(self, scope: str) -> int:
        if self.kind == "write-all":
            return 2
        if self.kind == "read-all":
            return 0 if scope == "id-token" else 1
        return LEVELS.get(dict(self.scopes).get(scope, "none"), 2)  # unknown values: assume the worst

    def line_of(self, scope: str) -> int:
        return dict(self.scope_lines).get(scope, self.loc[1])

    def writes(self) -> list[str]:
        return sorted(s for s, _ in self.scopes if self.level(s) == 2)


@dataclass(frozen=True)
class Command:
    """One thing a job runs: a shell line, or an action with its inputs."""

    text: str  # a shell line, or "uses owner/repo" for actions
    loc: Loc
    uses: str | None = None  # action reference as written (with @ref)
    with_: tuple[tuple[str, str], ...] = ()

    @property
    def action(self) -> str | None:
        return self.uses.split("@", 1)[0].lower() if self.uses else None


@dataclass
class Job:
    platform: str  # "github" | "gitlab"
    path: str
    id: str
    loc: Loc
    triggers: dict[str, Loc] = field(default_factory=dict)  # events that start it
    perms: Perms | None = None  # effective explicit block (job, else workflow), None: repository default
    runs_on: list[tuple[str, Loc]] = field(default_factory=list)
    environment: tuple[str, Loc] | None = None
    env_tier: str | None = None
    env_action: str | None = None
    uses: tuple[str, Loc] | None = None  # reusable workflow called by the job
    secrets_inherit: Loc | None = None
    commands: list[Command] = field(default_factory=list)
    # GitLab only
    manual: bool = False
    rules: list[tuple[str, Loc]] = field(default_factory=list)  # normalised conditions that run it
    limited: bool = False  # has rules/only that restrict when it runs
    id_tokens: dict[str, Loc] = field(default_factory=dict)
    secrets: dict[str, Loc] = field(default_factory=dict)
    release: Loc | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.id)

    def signature(self) -> tuple[str, ...]:
        return tuple(c.action or norm(c.text) for c in self.commands)


@dataclass
class CiSide:
    """Every CI file of one side of the change, parsed."""

    jobs: list[Job] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # path -> text (kind in `kinds`)
    kinds: dict[str, str] = field(default_factory=dict)
    errors: dict[str, DocumentError] = field(default_factory=dict)
    callables: set[str] = field(default_factory=set)  # workflows with `on: workflow_call`
    defined_vars: set[str] = field(default_factory=set)  # GitLab `variables:` names set in the files


def _lines(d: Any, key: Any, default: int) -> int:
    return d.line_of(key) if isinstance(d, LineDict) else default


def _as_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _text_commands(text: str, path: str, first_line: int) -> Iterator[Command]:
    for i, ln in enumerate(text.splitlines()):
        s = ln.strip()
        if s and not s.startswith("#"):
            yield Command(s, (path, first_line + i))


def truthy(value: object) -> bool:
    """YAML/JSON/action-input truthiness: `true`, a non-empty string, an expression ("${{ ... }}")."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "off")
    return value is True
