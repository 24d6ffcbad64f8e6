"""Doors: where a change comes from and where its verdict goes.

Each door module offers `prepare(opts) -> Prepared` (build the Change, load the trusted policy)
and `publish(decision, opts, prepared) -> list[str]` (post what it can; return notes on what it
could not). Doors import the engine; the engine never imports a door.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from guard.model import Change, Mode
from guard.trusted import TrustedPolicy


@dataclass
class CheckOptions:
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
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Prepared:
    change: Change
    trusted: TrustedPolicy
    notes: list[str] = field(default_factory=list)


def select_door(opts: CheckOptions, env: dict[str, str] | None = None) -> str:
    """Explicit --door wins; in CI with no explicit range, the CI's own door reads its context."""
    env = dict(os.environ) if env is None else env
    if opts.door:
        return opts.door
    # A deploy names its head (what is being deployed) but still needs the CI door's platform
    # record of the last deployment; only a named range means "judge exactly this, locally".
    explicit = (opts.base is not None or opts.head is not None) and not opts.deploy
    if env.get("GITHUB_ACTIONS") == "true" and not explicit:
        return "github"
    if env.get("GITLAB_CI") == "true" and not explicit:
        return "gitlab"
    return "local"
