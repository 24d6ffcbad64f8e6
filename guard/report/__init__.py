"""Report formats: text (people), json (machines), sarif (code scanning), markdown (comments),
codequality (GitLab Code Quality widget)."""

from __future__ import annotations

import importlib

from guard.model import Decision

FORMATS = ("text", "json", "sarif", "markdown", "codequality")


def render(decision: Decision, fmt: str, *, explain: bool = False) -> str:
    module = importlib.import_module(f"guard.report.{fmt}")
    if fmt == "text":
        out: str = module.render(decision, explain=explain)
        return out
    out = module.render(decision)
    return out
