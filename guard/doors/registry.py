"""The doors `check` can enter by, registered by name.

Each entry imports its door only when chosen: the GitHub and GitLab doors pull in their platform
SDKs, which a local check never needs. The pre-receive hook and `serve` have their own commands
(their input is a push and a webhook, not a range) but judge through the same guard/judge.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from guard.doors.interface import CheckOptions, Door
from guard.errors import UsageError


def _local() -> Door:
    from guard.doors.local import DOOR

    return DOOR


def _github() -> Door:
    from guard.doors.github.door import DOOR

    return DOOR


def _gitlab() -> Door:
    from guard.doors.gitlab.door import DOOR

    return DOOR


DOORS: dict[str, Callable[[], Door]] = {"local": _local, "github": _github, "gitlab": _gitlab}


def select_door(opts: CheckOptions, env: Mapping[str, str] | None = None) -> str:
    """Explicit --door wins; in CI with no explicit range, the CI's own door reads its context."""
    env = os.environ if env is None else env
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


def door_for(opts: CheckOptions, env: Mapping[str, str] | None = None) -> Door:
    name = select_door(opts, env)
    if name not in DOORS:
        raise UsageError(f"unknown door {name!r}: one of {', '.join(DOORS)}", where="--door")
    return DOORS[name]()
