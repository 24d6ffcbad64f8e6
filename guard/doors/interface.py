"""The door interface: where a change comes from and where its verdict goes.

A door turns its platform's context into a `Prepared` (the Change, the trusted policy, notes on
what it chose and could not read) and, once the one judge path (guard/judge.py) has decided,
publishes what it can, returning notes on what it could not. Doors import the engine; the engine
never imports a door. A new door is one module with a `DOOR` object satisfying `Door`, plus one
line in guard/doors/registry.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from guard.model import Change, Decision, Mode
from guard.trusted import TrustedPolicy


@dataclass
class CheckOptions:
    """What `check`/`explain` ask of a door; every field typed, none door-private by string key."""

    repo: str | None = None
    base: str | None = None
    head: str | None = None
    policy: str | None = None
    fmt: str = "text"
    output: str | None = None
    mode: Mode | None = None
    trusted_refs: tuple[str, ...] = ()
    door: str | None = None  # force a door: local, github, gitlab
    sarif_file: str | None = None
    deploy: str | None = None  # judge a deploy to this environment
    since: str | None = None  # the commit last deployed there (when no platform record is at hand)
    reports: str | None = None  # GitHub: what to post (check-run,status,comment | none)


@dataclass
class Prepared:
    change: Change
    trusted: TrustedPolicy
    notes: list[str] = field(default_factory=list)  # shown by every report, ahead of the change's own


# The CI run identifiers an audit record carries, whichever door judged inside that run.
RUN_ENV = ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_DEPLOYMENT_ID", "CI_PIPELINE_ID", "CI_JOB_ID")


def run_ids(env: Mapping[str, str]) -> dict[str, str]:
    return {k: env[k] for k in RUN_ENV if env.get(k)}


class Door(Protocol):
    """One source of changes. `prepare` raises GuardError (exit 2/3) when it cannot judge."""

    @property
    def name(self) -> str: ...

    @property
    def how_to_approve(self) -> tuple[str, ...]:
        """What a step-up report tells people to do, on this door."""
        ...

    def prepare(self, opts: CheckOptions) -> Prepared: ...

    def publish(self, decision: Decision, opts: CheckOptions, prepared: Prepared) -> list[str]: ...


@dataclass(frozen=True)
class FunctionDoor:
    """A door made of a module's two functions (what local, github and gitlab register)."""

    name: str
    prepare: Callable[[CheckOptions], Prepared]
    publish: Callable[[Decision, CheckOptions, Prepared], list[str]]
    how_to_approve: tuple[str, ...]
