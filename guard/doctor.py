"""Preflight (`pipeline-guard doctor`): platform settings that quietly undo the guard.

Platform-neutral: each door (doors/github_doctor.py, doors/gitlab_doctor.py) reads its settings
read-only and returns `Result`s; this module names the statuses, renders them and sets the exit
code. A setting the token cannot read is `could-not-verify` with the permission it needs, never
`ok`: an unreadable setting must not look fine.

Exit codes: 0 every check ok; 1 any warn or could-not-verify (never silently green);
2 usage error (bad flag, no token, unknown repository); 3 internal error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from guard.errors import EXIT_ALLOW, EXIT_GATED, UsageError
from guard.report.escape import plain

Status = Literal["ok", "warn", "could-not-verify"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "could-not-verify")
CHECK_NAME = "pipeline-guard"  # the check run and commit status the GitHub door posts


@dataclass(frozen=True)
class Result:
    """One verdict on one setting, for one subject (a branch, a ruleset, an environment)."""

    check: str  # stable id, e.g. "required-check", "bypass-actors"
    status: Status
    message: str  # what was found (may quote platform names: rendered escaped)
    fix: str | None = None  # what to change; None when nothing needs changing
    subject: str | None = None  # e.g. "branch main", "environment production"

    def to_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "status": self.status,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }


def ok(check: str, message: str, subject: str | None = None) -> Result:
    return Result(check, "ok", message, None, subject)


def warn(check: str, message: str, fix: str, subject: str | None = None) -> Result:
    return Result(check, "warn", message, fix, subject)


def unverified(check: str, needs: str, why: str | None = None, subject: str | None = None) -> Result:
    """`could not verify: needs <needs>` (and why, e.g. the HTTP status), never `fine`."""
    message = f"could not verify: needs {needs}" + (f" ({why})" if why else "")
    return Result(check, "could-not-verify", message, f"re-run with a token that has {needs}", subject)


def token_kind_unknown(fix: str, read_from: str = "its prefix") -> Result:
    """The token-lifetime verdict when the token's kind cannot be told: never `fine`."""
    message = f"could not verify: the token's kind is not recognisable from {read_from}"
    return Result("token-lifetime", "could-not-verify", message, fix)


@dataclass
class Options:
    repo: str  # OWNER/NAME (GitHub) or group/project path (GitLab)
    token: str
    api_url: str
    check_name: str = CHECK_NAME
    environments: tuple[str, ...] = ()
    app_id: int | None = None  # the expected source of the required check, when known
    token_env: str = ""  # the variable the token came from (named in advice, never its value)


def exit_code(results: Iterable[Result]) -> int:
    return EXIT_ALLOW if all(r.status == "ok" for r in results) else EXIT_GATED


def summary(results: list[Result]) -> dict[str, int]:
    return {s: sum(1 for r in results if r.status == s) for s in STATUSES}


def render_text(results: list[Result], platform: str, repo: str) -> str:
    lines = [f"pipeline-guard doctor: {platform} {plain(repo)}"]
    width = max(len(s) for s in STATUSES)
    for r in results:
        where = f" [{plain(r.subject)}]" if r.subject else ""
        lines.append(f"{r.status:<{width}}  {r.check}{where}: {plain(r.message)}")
        if r.fix:
            lines.append(f"{'':<{width}}    -> {plain(r.fix)}")
    counts = summary(results)
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines) + "\n"


def render_json(results: list[Result], platform: str, repo: str) -> str:
    doc = {
        "platform": platform,
        "repository": repo,
        "results": [r.to_dict() for r in results],
        "summary": summary(results),
        "exit_code": exit_code(results),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _environment_name(value: object) -> str | None:
    """`environment: name` or `environment: {name: ...}`; expressions/variables cannot be checked."""
    name = value.get("name") if isinstance(value, dict) else value
    if not isinstance(name, str) or not name.strip() or "$" in name:
        return None
    return name.strip()


def referenced_environments(paths: Iterable[str]) -> tuple[str, ...]:
    """Environment names that jobs in these CI files deploy to (GitHub workflows: under `jobs:`;
    .gitlab-ci.yml: top-level jobs). Files are read with the guard's capped YAML loader."""
    from pathlib import Path

    from guard.safeyaml import load_yaml

    found: list[str] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot read: {e.strerror}", where=path) from None
        doc = load_yaml(text, path)
        jobs = doc.get("jobs") if isinstance(doc, dict) and isinstance(doc.get("jobs"), dict) else doc
        for job in jobs.values() if isinstance(jobs, dict) else []:
            name = _environment_name(job.get("environment")) if isinstance(job, dict) else None
            if name and name not in found:
                found.append(name)
    return tuple(found)
