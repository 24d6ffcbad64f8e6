"""Every check, with its metadata, by rule kind. Adding a check is one module and one entry here.

Loaders import their module only when a rule of that kind is active: the secret check pulls in
detect-secrets, which a policy without secret rules (and the pre-receive path's start-up) never
needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guard.checks.interface import CheckFn, CheckMeta


@dataclass(frozen=True)
class Registered:
    meta: CheckMeta
    load: Callable[[], CheckFn]


def _paths() -> CheckFn:
    from guard.checks.paths import check

    return check


def _secrets() -> CheckFn:
    from guard.checks.secrets import check

    return check


def _permissions() -> CheckFn:
    from guard.checks.permissions import check

    return check


def _release() -> CheckFn:
    from guard.checks.release import check

    return check


def _deploy() -> CheckFn:
    from guard.checks.deploy import check

    return check


def _identity() -> CheckFn:
    from guard.checks.identity import check

    return check


CHECKS: tuple[Registered, ...] = (
    Registered(
        CheckMeta(
            "paths",
            "path",
            ("protected-path", "agent-config", "agent-instructions", "guard-policy"),
            "Files a change touches that need a person: protected paths, CI configuration and what "
            "privileged CI runs, agent tool configs, the guard's own files.",
            "permissions-release.md#paths",
        ),
        _paths,
    ),
    Registered(
        CheckMeta(
            "secrets",
            "secret",
            ("<detector>", "scan-incomplete"),
            "Credentials the change adds, in files, binary blobs, commit and tag messages; a blob "
            "that cannot be scanned is a finding, not a pass.",
            "secrets.md",
        ),
        _secrets,
    ),
    Registered(
        CheckMeta(
            "permissions",
            "permission",
            ("<permission change>", "unpinned-action"),
            "Widened CI token scopes, secrets and environments, new exfiltration or force-push "
            "steps, agent tool permissions and MCP servers.",
            "permissions-release.md#permissions",
        ),
        _permissions,
    ),
    Registered(
        CheckMeta(
            "release",
            "release",
            ("version-bump", "manifest-unparseable", "<release step>"),
            "Release boundaries: version bumps, release tags (judged by the commits they tag), "
            "release steps in CI.",
            "permissions-release.md#release",
        ),
        _release,
    ),
    Registered(
        CheckMeta(
            "deploy",
            "release",
            ("unapproved-agent-deploy",),
            "A deploy that brings agent commits no qualified person approved on their merged head.",
            "deploy.md",
        ),
        _deploy,
    ),
    Registered(
        CheckMeta(
            "identity",
            "identity",
            ("unverified-actor", "claimed-bot", "spoofed-human", "agent-push"),
            "Who made the change: agents, unknown bots and unverified actors, as the policy gates them.",
            "identification.md",
        ),
        _identity,
    ),
)


def checks_for(kind: str) -> list[CheckFn]:
    return [c.load() for c in CHECKS if c.meta.kind == kind]


def meta_for_kind(kind: str) -> list[CheckMeta]:
    return [c.meta for c in CHECKS if c.meta.kind == kind]
