"""pipeline-guard command line.

Exit codes (the contract): 0 allowed (warnings included), 1 step-up required or blocked (enforce
mode), 2 usage or configuration error, 3 internal error (fail closed). Advisory mode exits 0 unless
2 or 3 apply. Heavy modules are imported inside commands: the pre-receive hook starts this CLI on
every push.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from guard import __version__, cli_tools
from guard.clikit import guarded, write
from guard.errors import GuardError

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Exit codes:
  0  allowed (including warnings)
  1  step-up required or blocked (enforce mode)
  2  usage or configuration error (bad flag, invalid policy, unknown ref)
  3  internal error: the guard fails closed
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="pipeline-guard")
def main() -> None:
    """Tell agent-made changes from people's, check what they touch and ask for, and hold back
    merges, pushes and deploys that need a person's step-up approval.

    \b
    Start here:
      pipeline-guard check                 judge this branch against its base (built-in policy)
      pipeline-guard explain               the same, with the chain from evidence to verdict
      pipeline-guard identify main..HEAD   who made each commit (human, agent, automation)
      pipeline-guard policy validate .pipeline-guard.yml
      pipeline-guard doctor                preflight: platform settings that undo the guard
      pipeline-guard pre-receive           as a server hook (see templates/pre-receive)
    """


def range_options(fn: F) -> F:
    opts = [
        click.option(
            "--repo", type=click.Path(file_okay=False), help="Repository (default: current directory)."
        ),
        click.option(
            "--base", help="Base revision (default: merge-base with the upstream or default branch)."
        ),
        click.option("--head", help="Head revision (default: HEAD)."),
        click.option(
            "--policy",
            help="Policy file. Inside the repository it is read at the trusted ref, never from the change; "
            "relative paths are taken from the repository root. Default: .pipeline-guard.yml, "
            ".github/pipeline-guard.yml, else the built-in policy.",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json", "sarif", "markdown", "codequality"]),
            default="text",
            show_default=True,
            help="Report format.",
        ),
        click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here."),
        click.option(
            "--mode",
            type=click.Choice(["enforce", "advisory"]),
            help="Requested mode: only stricter than the trusted policy's unless it allows weakening.",
        ),
        click.option(
            "--trusted-ref",
            "trusted_refs",
            multiple=True,
            help="Branch glob whose commits are trusted to hold the policy (besides the default branch). "
            "Name only refs the platform protects.",
        ),
        click.option(
            "--door",
            type=click.Choice(["local", "github", "gitlab"]),
            help="Where the change comes from (default: github in Actions, gitlab in GitLab CI, else local).",
        ),
        click.option("--sarif-file", type=click.Path(dir_okay=False), help="Also write SARIF here."),
        click.option(
            "--deploy",
            metavar="ENVIRONMENT",
            help="Judge a deploy: every agent commit since the last deployment to ENVIRONMENT needs a "
            "person's approval.",
        ),
        click.option(
            "--since",
            metavar="REV",
            help="With --deploy: the commit last deployed (locally required; in CI the platform's record "
            "is used and --since can only widen the range).",
        ),
        click.option(
            "--report-file",
            "report_files",
            multiple=True,
            metavar="FORMAT=PATH",
            help="Also write the report in FORMAT to PATH (repeatable), "
            "e.g. codequality=gl-code-quality.json.",
        ),
        click.option(
            "--report",
            "reports",
            metavar="LIST",
            help="CI door: platform reports to post, comma-separated: check-run, status, comment, "
            "or none (default: all three). Step outputs, annotations and summary are always written.",
        ),
        click.option(
            "--audit-log",
            envvar="PIPELINE_GUARD_AUDIT_LOG",
            type=click.Path(dir_okay=False),
            help="Append the decision as one hash-chained JSON line to this file "
            "(env PIPELINE_GUARD_AUDIT_LOG).",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _report_files(specs: tuple[str, ...]) -> list[tuple[str, str]]:
    """`FORMAT=PATH` pairs, checked before any work so a typo is a usage error (exit 2)."""
    from guard.errors import UsageError
    from guard.report import FORMATS

    out: list[tuple[str, str]] = []
    for spec in specs:
        fmt, sep, path = spec.partition("=")
        if not sep or not path or fmt not in FORMATS:
            raise UsageError(f"expected FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}", where=spec)
        out.append((fmt, path))
    return out


def run_check(explain: bool, **kw: Any) -> int:
    import os

    from guard.doors.interface import CheckOptions, run_ids
    from guard.doors.registry import door_for
    from guard.judge import judge
    from guard.redact import redact_text
    from guard.report import render

    audit_log = kw.pop("audit_log", None)
    extra_reports = _report_files(kw.pop("report_files", ()))
    opts = CheckOptions(**kw)
    door = door_for(opts)
    prepared = door.prepare(opts)
    decision = judge(
        prepared, mode=opts.mode, audit_log=audit_log, how=door.how_to_approve, run=run_ids(os.environ)
    )
    write(render(decision, opts.fmt, explain=explain), opts.output)
    if opts.sarif_file:
        write(render(decision, "sarif"), opts.sarif_file)
    for fmt, path in extra_reports:
        write(render(decision, fmt), path)
    for note in door.publish(decision, opts, prepared):
        click.echo(f"pipeline-guard: {redact_text(note)}", err=True)
    code: int = decision.exit_code
    return code


@main.command(epilog=EPILOG)
@range_options
@guarded
def check(**kw: Any) -> None:
    """Judge a change: identify who made it, check it against the policy, decide.

    \b
    Examples:
      pipeline-guard check                              # this branch vs its base
      pipeline-guard check --base origin/main --format json
      pipeline-guard check --format sarif -o guard.sarif
    In GitHub Actions or GitLab CI with no --base/--head it reads the event or pipeline itself.
    """
    sys.exit(run_check(False, **kw))


@main.command(epilog=EPILOG)
@range_options
@guarded
def explain(**kw: Any) -> None:
    """Like check, and print the chain from evidence to verdict (same exit codes)."""
    sys.exit(run_check(True, **kw))


PRE_RECEIVE_EPILOG = """\b
Exit codes (any non-zero rejects the push):
  0  accepted (including warnings, and advisory mode)
  1  rejected: a ref needs step-up or is blocked, or the time budget ran out (fail closed)
  2  usage or configuration error (malformed stdin, invalid policy, missing allowed-signers file)
  3  internal error: the guard fails closed
"""


@main.command("pre-receive", epilog=PRE_RECEIVE_EPILOG)
@click.option("--repo", type=click.Path(file_okay=False), help="Repository (default: GIT_DIR, else cwd).")
@click.option(
    "--policy",
    help="Server-side policy file (default: $PIPELINE_GUARD_POLICY, then git config pipeline-guard.policy, "
    "then the built-in policy). Never read from the pushed commits.",
)
@click.option("--budget", type=click.FloatRange(min=0.1), help="Seconds (overrides server.budget_seconds).")
@click.option(
    "--audit-log",
    envvar="PIPELINE_GUARD_AUDIT_LOG",
    type=click.Path(dir_okay=False),
    help="Append one JSON record per judged ref here (default: server.audit_log).",
)
@guarded
def pre_receive(repo: str | None, policy: str | None, budget: float | None, audit_log: str | None) -> None:
    """Judge a push on the server: a git pre-receive hook reading `<old> <new> <ref>` lines on stdin.

    \b
    Install (docs/prereceive.md): copy templates/pre-receive to hooks/pre-receive (plain git),
    custom_hooks/pre-receive.d/ (GitLab) or a GHES pre-receive environment.
    Every ref of the push is judged; the push is rejected as a whole if any ref is gated.
    """
    import os

    from guard.budget import process_started
    from guard.doors.prereceive import door as prereceive

    opts = prereceive.Options(repo=repo, policy=policy, budget=budget, audit_log=audit_log)
    opts.started = process_started()
    try:
        code = prereceive.run(opts, sys.stdin, sys.stderr)
    except GuardError as e:
        if os.environ.get("GL_ID"):  # GitLab shows hook output only with this prefix
            from guard.redact import redact_text

            click.echo(f"GL-HOOK-ERR: pipeline-guard: error: {redact_text(str(e))}", err=True)
        raise
    sys.exit(code)


@main.command()
@click.option("--repo", type=click.Path(file_okay=False), help="Repository (default: current directory).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--policy", type=click.Path(dir_okay=False), help="Policy file adding accounts/fingerprints.")
@click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: when a terminal).")
@click.argument("rev_range")
@guarded
def identify(repo: str | None, fmt: str, policy: str | None, progress: bool | None, rev_range: str) -> None:
    """Who made each commit in REV_RANGE (e.g. main..HEAD): human, agent (vendor), automation, unknown.

    One row per commit plus a summary; --format json prints {"commits": [...], "summary": {...}}.
    """
    from guard.git.repo import GitRepo
    from guard.identify_change import identify_range
    from guard.policy import builtin_policy, load_policy_file
    from guard.report.identify import render_identify_json, render_identify_text

    pol = load_policy_file(policy) if policy else builtin_policy()
    show = sys.stderr.isatty() if progress is None else progress

    def tick(n: int) -> None:
        click.echo(f"\ridentified {n} commits…", err=True, nl=False)

    result = identify_range(GitRepo(repo or "."), rev_range, pol, tick if show else None)
    if show:
        click.echo("", err=True)
    click.echo(render_identify_json(result) if fmt == "json" else render_identify_text(result))


main.add_command(cli_tools.policy)
main.add_command(cli_tools.audit)
main.add_command(cli_tools.report)
main.add_command(cli_tools.doctor)
main.add_command(cli_tools.serve)


if __name__ == "__main__":  # pragma: no cover
    main()
