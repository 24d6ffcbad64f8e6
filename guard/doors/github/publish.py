"""Posting the verdict through PyGithub: a check run, a commit status and one PR comment.

Each report is independent and best-effort: a read-only token (fork PRs), a missing permission or
an unreachable API turns into a note, never into a failed job — the annotations, the step summary
and the exit code already carry the verdict. The check-runs API takes at most 50 annotations per
request, so they go in batches: create with the first 50, update with the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from guard.doors.github.api import describe
from guard.doors.github.event import GitHubContext
from guard.model import Decision, Finding
from guard.report.markdown import MARKER
from guard.report.presentation import VERDICT

if TYPE_CHECKING:
    from github import Github

NAME = "pipeline-guard"
BATCH = 50
MAX_CHECK_ANNOTATIONS = 1000
MAX_TEXT = 60_000  # GitHub caps check-run summaries and comments at 65535 characters


def conclusion(d: Decision) -> str:
    if d.verdict in ("allow", "warn"):
        return "success"
    if d.mode == "advisory":
        return "neutral"
    return "failure" if d.verdict == "block" else "action_required"


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 40] + "\n\n… (truncated; see the job log)\n"


def check_annotations(d: Decision) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in d.findings:
        if f.path is None:
            continue
        out.append(_annotation(f))
    return out[:MAX_CHECK_ANNOTATIONS]


def _annotation(f: Finding) -> dict[str, Any]:
    line = f.line or 1
    return {
        "path": f.path,
        "start_line": line,
        "end_line": line,
        "annotation_level": "warning" if f.action == "warn" else "failure",
        "title": f"{f.action}: {f.rule}"[:255],
        "message": f.message[:4000],
    }


def post_check_run(gh: Github, ctx: GitHubContext, d: Decision, summary: str) -> None:
    repo = gh.get_repo(ctx.repository)
    notes = check_annotations(d)
    batches = [notes[i : i + BATCH] for i in range(0, len(notes), BATCH)] or [[]]
    title = f"{NAME}: {VERDICT[d.verdict].title} ({len(d.findings)} finding(s))"
    output: dict[str, Any] = {"title": title, "summary": _clip(summary)}
    extra: dict[str, Any] = {"details_url": ctx.run_url} if ctx.run_url else {}
    run = repo.create_check_run(
        name=NAME,
        head_sha=d.change.head,
        status="in_progress",
        output={**output, "annotations": batches[0]},
        **extra,
    )
    rest = batches[1:]
    for batch in rest[:-1]:
        run.edit(output={**output, "annotations": batch})
    last = {**output, "annotations": rest[-1]} if rest else output
    run.edit(status="completed", conclusion=conclusion(d), output=last)


def status_description(d: Decision) -> str:
    rules = sorted({f.rule for f in d.findings if f.action != "warn"})
    text = f"{VERDICT[d.verdict].title}" + (f": {', '.join(rules)}" if rules else "")
    return text if len(text) <= 140 else text[:139] + "…"  # the API rejects longer descriptions


def post_status(gh: Github, ctx: GitHubContext, d: Decision) -> None:
    state = "failure" if d.exit_code != 0 else "success"
    commit = gh.get_repo(ctx.repository).get_commit(d.change.head)
    extra: dict[str, Any] = {"target_url": ctx.run_url} if ctx.run_url else {}
    commit.create_status(state=state, description=status_description(d), context=NAME, **extra)


def upsert_comment(gh: Github, ctx: GitHubContext, number: int, d: Decision, body: str) -> str:
    """Update the comment carrying the marker; create one only when there is something to say."""
    issue = gh.get_repo(ctx.repository).get_issue(number)
    body = _clip(body)
    for comment in issue.get_comments():
        if MARKER in (comment.body or ""):
            comment.edit(body)
            return "updated"
    if d.verdict == "allow":
        return "not needed"
    issue.create_comment(body)
    return "created"


def publish(
    gh: Github | None,
    ctx: GitHubContext,
    d: Decision,
    reports: tuple[str, ...],
    body: str,
    no_token_reason: str | None,
) -> list[str]:
    """Post each requested report; return a note for every one that could not be posted."""
    notes: list[str] = []
    if gh is None:
        if reports:
            notes.append(
                f"{no_token_reason}: could not post {', '.join(reports)}; "
                "the annotations, step summary and exit code carry the verdict"
            )
        return notes
    jobs: dict[str, Callable[[], object]] = {
        "check-run": lambda: post_check_run(gh, ctx, d, body),
        "status": lambda: post_status(gh, ctx, d),
    }
    if d.change.number is not None:
        jobs["comment"] = lambda: upsert_comment(gh, ctx, int(d.change.number or 0), d, body)
    elif "comment" in reports:
        notes.append("no pull request for this event: no comment posted")
    for name in reports:
        job = jobs.get(name)
        if job is None:
            continue
        try:
            job()
        except Exception as e:  # every failure is a note: the verdict is already out
            hint = " (read-only token? fork PRs get one)" if " 403" in f" {describe(e)}" else ""
            notes.append(f"could not post the {name}: {describe(e)}{hint}")
    return notes
