"""`pipeline-guard report`: collect, aggregate, merge, redact, render (the command's one entry)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from guard.activity.aggregate import build
from guard.activity.collect import collect_git, read_audit
from guard.activity.export import export_text, load_export, merge, summary, with_summary
from guard.activity.html import render
from guard.policy import Policy
from guard.redact import redact_data


def report_document(
    repo: str | None,
    since: str | None,
    audit_logs: Sequence[str],
    merges: Sequence[str],
    policy: Policy,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The redacted activity document: this repository (unless only exports are merged), its
    audit logs, and every export given; `summary` included."""
    exports = [load_export(m) for m in merges]  # read first: a bad file fails before a long git pass
    records = read_audit(audit_logs)
    git = None
    if repo is not None or not merges:
        git = collect_git(repo or ".", since, policy, progress)
    docs = [build(git, records, policy)] if git is not None or records else []
    doc = merge(docs + exports) if exports else docs[0]
    clean: dict[str, Any] = redact_data(doc)  # the shared redaction path, over everything shown
    return with_summary(clean)


def render_output(doc: dict[str, Any], fmt: str, export: bool) -> str:
    if export:
        return export_text(doc)
    if fmt == "json":
        return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return render(doc, doc.get("summary") or summary(doc))
