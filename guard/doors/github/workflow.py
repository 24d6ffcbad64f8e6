"""What needs no token: step outputs, the step summary and `::error` annotations (stdlib only).

These always work, even for a fork PR's read-only token, so the verdict is never lost when the API
reports cannot be posted. Every untrusted string is escaped for its channel.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

from guard.errors import GuardError
from guard.model import Decision, Finding
from guard.report.escape import markdown, workflow_data, workflow_property
from guard.report.presentation import ACTION

MAX_ANNOTATIONS = 200  # the job log shows only the first few per step anyway


def outputs(d: Decision, sarif_file: str | None) -> dict[str, str]:
    return {
        "decision": d.verdict,
        "agent": "true" if d.change.identity.kind == "agent" else "false",
        "findings": str(len(d.findings)),
        "sarif-file": sarif_file or "",
        "exit-code": str(d.exit_code),
    }


def write_outputs(path: str, values: dict[str, str]) -> None:
    """`name<<DELIM` blocks: a value can never inject another output."""
    lines = []
    for name, value in values.items():
        delim = f"pg_{secrets.token_hex(8)}"
        lines.append(f"{name}<<{delim}\n{value}\n{delim}\n")
    _append(path, "".join(lines))


def _append(path: str, text: str) -> None:
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as e:
        raise GuardError(f"cannot write: {e.strerror}", where=path) from None


def annotation(f: Finding) -> str:
    props = []
    if f.path:
        props.append(f"file={workflow_property(f.path)}")
        if f.line:
            props.append(f"line={f.line}")
    props.append(f"title={workflow_property(f'pipeline-guard {f.action}: {f.rule}')}")
    return f"::{ACTION[f.action].level} {','.join(props)}::{workflow_data(f.message)}"


def annotation_lines(d: Decision) -> Iterator[str]:
    for f in d.findings[:MAX_ANNOTATIONS]:
        yield annotation(f)
    if len(d.findings) > MAX_ANNOTATIONS:
        yield f"::warning::{len(d.findings) - MAX_ANNOTATIONS} more findings: see the step summary or SARIF"


def notes_section(notes: list[str]) -> str:
    if not notes:
        return ""
    return "\n**Notes**\n\n" + "".join(f"- {markdown(n)}\n" for n in notes)


def write_summary(path: str, body: str) -> None:
    _append(path, body + "\n")
