"""GitLab Code Quality JSON (`artifacts:reports:codequality`): the MR widget and diff annotations.

GitLab reads a subset of the Code Climate issue format: description, check_name, fingerprint,
severity and location.path / location.lines.begin. It compares fingerprints between the base and
head reports, so a fingerprint must be stable for the same finding and distinct between findings.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from guard.model import Decision, Finding
from guard.redact import redact_decision
from guard.report.escape import plain
from guard.report.presentation import ACTION

NO_PATH = "."  # findings about commits or actors, not a file: GitLab requires some path


def fingerprint(f: Finding) -> str:
    key = f.id or f"{f.rule}:{f.path}:{f.line}:{f.category}:{f.fingerprint}:{f.message}"
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]


def _issue(f: Finding) -> dict[str, Any]:
    # The widget shows the description as text; strip controls and bidi tricks all the same.
    return {
        "type": "issue",
        "check_name": f"pipeline-guard/{f.rule}",
        "description": plain(f"[{f.action}] {f.message}"),
        "categories": ["Security"],
        "fingerprint": fingerprint(f),
        "severity": ACTION[f.action].codequality,
        "location": {
            "path": plain(f.path.lstrip("/")) if f.path else NO_PATH,
            "lines": {"begin": f.line or 1},
        },
    }


def to_list(d: Decision) -> list[dict[str, Any]]:
    d = redact_decision(d)  # every secret value masked (a no-op for the engine's decisions)
    return [_issue(f) for f in d.findings]


def render(d: Decision, *, explain: bool = False) -> str:
    del explain  # `explain` changes the text report only
    return json.dumps(to_list(d), indent=2, ensure_ascii=False) + "\n"
