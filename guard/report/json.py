"""The JSON report: one object, versioned, stable (documented in README "JSON report")."""

from __future__ import annotations

import json
from typing import Any

from guard import __version__
from guard.model import Decision
from guard.redact import redact_decision

SCHEMA_VERSION = 1


def to_dict(d: Decision) -> dict[str, Any]:
    d = redact_decision(d)  # every secret value masked (a no-op for the engine's decisions)
    ch = d.change
    step_up = None
    if d.step_up is not None:
        step_up = {
            "required": d.verdict == "step-up",
            "approvals_required": d.step_up.approvals_required,
            "eligible": d.step_up.eligible,
            "how": d.step_up.how,
            "counted": [a.to_dict() for a in d.step_up.counted],
            "rejected": [a.to_dict(why) for a, why in d.step_up.rejected],
            "break_glass": (
                {**d.step_up.break_glass.to_dict(), "reason": d.step_up.break_glass.reason}
                if d.step_up.break_glass
                else None
            ),
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pipeline-guard", "version": __version__},
        "decision": d.verdict,
        "mode": d.mode,
        "exit_code": d.exit_code,
        "door": ch.door,
        "repository": ch.repository,
        "base": ch.base,
        "head": ch.head,
        "source_ref": ch.source_ref,
        "target_ref": ch.target_ref,
        "identity": ch.identity.to_dict(),
        "actors": [
            {
                "login": a.login,
                "role": a.role,
                "source": a.source,
                "verified": a.verified,
                "identity": a.identity.to_dict(),
            }
            for a in ch.actors
        ],
        "commits": [
            {"sha": c.sha, "subject": c.subject, "identity": c.identity.to_dict()} for c in ch.commits
        ],
        "findings": [f.to_dict() for f in d.findings],
        "step_up": step_up,
        "reasons": d.reasons,
        "policy": {"source": d.policy_source, "digest": d.policy_digest},
    }


def render(d: Decision, *, explain: bool = False) -> str:
    del explain  # `explain` changes the text report only
    return json.dumps(to_dict(d), indent=2, ensure_ascii=False) + "\n"
