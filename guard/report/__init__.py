"""Report formats by name: text (people), json (machines), sarif (code scanning), markdown
(comments), codequality (GitLab Code Quality widget). See interface.py."""

from __future__ import annotations

from collections.abc import Callable

from guard.model import Decision
from guard.report.interface import ReportFormat


def _text() -> ReportFormat:
    from guard.report.text import render

    return render


def _json() -> ReportFormat:
    from guard.report.json import render

    return render


def _sarif() -> ReportFormat:
    from guard.report.sarif import render

    return render


def _markdown() -> ReportFormat:
    from guard.report.markdown import render

    return render


def _codequality() -> ReportFormat:
    from guard.report.codequality import render

    return render


REGISTRY: dict[str, Callable[[], ReportFormat]] = {
    "text": _text,
    "json": _json,
    "sarif": _sarif,
    "markdown": _markdown,
    "codequality": _codequality,
}
FORMATS = tuple(REGISTRY)


def render(decision: Decision, fmt: str, *, explain: bool = False) -> str:
    return REGISTRY[fmt]()(decision, explain=explain)
