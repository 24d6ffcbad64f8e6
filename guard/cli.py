"""pipeline-guard command line.

Exit codes (the contract): 0 allowed (warnings included), 1 step-up required or blocked (enforce
mode), 2 usage or configuration error, 3 internal error (fail closed). Advisory mode exits 0 unless
2 or 3 apply. Heavy modules are imported inside commands: the pre-receive hook starts this CLI on
every push.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from guard import __version__
from guard.errors import EXIT_INTERNAL, GuardError

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Exit codes:
  0  allowed (including warnings)
  1  step-up required or blocked (enforce mode)
  2  usage or configuration error (bad flag, invalid policy, unknown ref)
  3  internal error: the guard fails closed
"""


def fail(message: str, code: int) -> None:
    from guard.redact import redact_text

    click.echo(f"pipeline-guard: error: {redact_text(message)}", err=True)
    sys.exit(code)


def guarded(fn: F) -> F:
    """Every command: a clear one-line error and a documented exit code, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GuardError as e:
            suffix = ": failing closed" if e.exit_code == EXIT_INTERNAL else ""
            fail(f"{e}{suffix}", e.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted: failing closed", EXIT_INTERNAL)
        except RecursionError:
            fail("input nested too deeply: failing closed", EXIT_INTERNAL)
        except Exception as e:
            # Type and place only: an unexpected exception's text may quote the change (a secret).
            frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
            where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
            fail(f"internal error ({type(e).__name__}{where}): failing closed", EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


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


def _write(text: str, output: str | None) -> None:
    """A rendered report (redacted by the renderers, from the model: see guard/redact.py)."""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise GuardError(f"cannot write report: {e.strerror}", where=output) from None
    else:
        click.echo(text, nl=False)


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
    _write(render(decision, opts.fmt, explain=explain), opts.output)
    if opts.sarif_file:
        _write(render(decision, "sarif"), opts.sarif_file)
    for fmt, path in extra_reports:
        _write(render(decision, fmt), path)
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
    from guard.report.identify import render_identify_text

    pol = load_policy_file(policy) if policy else builtin_policy()
    show = sys.stderr.isatty() if progress is None else progress

    def tick(n: int) -> None:
        click.echo(f"\ridentified {n} commits…", err=True, nl=False)

    result = identify_range(GitRepo(repo or "."), rev_range, pol, tick if show else None)
    if show:
        click.echo("", err=True)
    click.echo(
        json.dumps(result, indent=2, ensure_ascii=False) if fmt == "json" else render_identify_text(result)
    )


@main.group()
def policy() -> None:
    """Validate a policy file or print its JSON Schema."""


@policy.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@guarded
def policy_validate(file: str) -> None:
    """Check FILE; errors name the file, line and field (exit 2)."""
    from guard.policy import load_policy_file

    pol = load_policy_file(file)
    rules = pol.active_rules()
    click.echo(f"{file}: valid ({len(rules)} active rules, mode {pol.mode})")


@policy.command("schema")
@guarded
def policy_schema() -> None:
    """Print the policy's JSON Schema (for editors and CI validation)."""
    from guard.policy import policy_schema as schema

    click.echo(json.dumps(schema(), indent=2))


@main.group()
def audit() -> None:
    """Verify or query an audit log written with --audit-log."""


@audit.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--expect-head", help="The last hash you anchored elsewhere: detects removed tail records.")
@guarded
def audit_verify(file: str, expect_head: str | None) -> None:
    """Check the hash chain of FILE (exit 1 when broken). Prints the last hash to anchor."""
    from guard.audit import verify

    result = verify(file, expect_head)
    for problem in result.problems:
        click.echo(f"{file}: {problem}", err=True)
    click.echo(f"{file}: {result.records} records, {'intact' if result.ok else 'BROKEN'}; head {result.head}")
    sys.exit(0 if result.ok else 1)


@audit.command("query")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--session", help="An agent session or log link (or part of it), e.g. from Agent-Logs-Url.")
@click.option("--agent", "vendor", help="An agent vendor, e.g. claude-code, copilot.")
@click.option("--commit", help="A commit sha (or prefix).")
@click.option("--repository", help="Only records for this repository.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@guarded
def audit_query(
    file: str, session: str | None, vendor: str | None, commit: str | None, repository: str | None, fmt: str
) -> None:
    """What did this agent session change, who approved it, where did it go."""
    from guard.audit import query, summarize
    from guard.report.escape import plain

    found = query(file, session=session, vendor=vendor, commit=commit, repository=repository)
    if fmt == "json":
        click.echo(json.dumps(found, indent=2))
    else:
        for rec in found:
            click.echo(plain(summarize(rec)))
        click.echo(f"{len(found)} record(s)")


REPORT_EPILOG = """\b
Examples:
  pipeline-guard report --audit-log audit.jsonl              report.html for this repository
  pipeline-guard report --since 2026-01-01 --format json     the same aggregates as JSON
  pipeline-guard report --since v1.4.0 --output r.html       commits after a tag
  pipeline-guard report --export json -o repo-a.json         one export per repository (CI matrix)
  pipeline-guard report --merge repo-a.json --merge repo-b.json -o org.html
\b
Exit codes:
  0  report written
  2  usage error: bad --since, missing or unreadable audit log or export, a line that is not JSON
  3  internal error (git failed)
"""


@main.command(epilog=REPORT_EPILOG)
@click.option(
    "--repo",
    type=click.Path(file_okay=False),
    help="Repository (default: current directory; with --merge, none unless given).",
)
@click.option(
    "--since",
    metavar="DATE|REV",
    help="Only commits after this: a date (YYYY-MM-DD, committer date) or a revision (REV..HEAD). "
    "Default: all of HEAD.",
)
@click.option(
    "--audit-log",
    "audit_logs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Audit log (JSON lines, from --audit-log of check/pre-receive/serve); repeatable.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write here ('-': stdout). Default: report.html for HTML, stdout for JSON.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
    help="html: one self-contained page (inline SVG, no network); json: the same aggregates.",
)
@click.option(
    "--export",
    type=click.Choice(["json"]),
    help="Write this repository's mergeable export (read back with --merge) instead of a report.",
)
@click.option(
    "--merge",
    "merges",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An export from `report --export json`; repeatable: the organisation view.",
)
@click.option("--policy", type=click.Path(dir_okay=False), help="Policy file: its path groups and accounts.")
@click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: when a terminal).")
@guarded
def report(
    repo: str | None,
    since: str | None,
    audit_logs: tuple[str, ...],
    output: str | None,
    fmt: str,
    export: str | None,
    merges: tuple[str, ...],
    policy: str | None,
    progress: bool | None,
) -> None:
    """Agent activity report: how much of the change is agent work (by vendor and autonomy level),
    what needed a person's step-up and how fast people approved, break-glass uses, the protected
    paths agents touched, and each agent session as a timeline of commits, pushes, PRs, verdicts,
    approvals and deploys.

    \b
    Reads the commits of the range (identified like `identify`) and the audit logs given. The
    HTML is one static file: charts are inline SVG, nothing is fetched when it is opened, no
    secret value appears (the shared redaction path) and all untrusted text is escaped.
    """
    from guard.activity.run import render_output, report_document
    from guard.policy import builtin_policy, load_policy_file

    pol = load_policy_file(policy) if policy else builtin_policy()
    show = sys.stderr.isatty() if progress is None else progress

    def tick(n: int) -> None:
        click.echo(f"\rread {n} commits…", err=True, nl=False)

    doc = report_document(repo, since, audit_logs, merges, pol, tick if show else None)
    if show:
        click.echo("", err=True)
    text = render_output(doc, fmt, export is not None)
    html_out = fmt == "html" and export is None
    target = output if output is not None else ("report.html" if html_out else None)
    _write(text, None if target == "-" else target)
    if target not in (None, "-"):
        click.echo(f"wrote {target}", err=True)


DOCTOR_EPILOG = """\b
Exit codes:
  0  every check ok
  1  some check warns or could not be verified (never silently green)
  2  usage error (bad flag, no token, unknown repository, token rejected)
  3  internal error (the API unreachable, an unexpected answer)
"""


@main.command(epilog=DOCTOR_EPILOG)
@click.option(
    "--repo",
    "repo",
    metavar="OWNER/NAME",
    help="Repository or GitLab project path (default: GITHUB_REPOSITORY / CI_PROJECT_PATH).",
)
@click.option(
    "--platform", type=click.Choice(["github", "gitlab"]), help="Default: gitlab in GitLab CI, else github."
)
@click.option(
    "--token-env",
    metavar="VAR",
    help="Environment variable holding the token "
    "(default: GITHUB_TOKEN; GitLab: PIPELINE_GUARD_GITLAB_TOKEN).",
)
@click.option(
    "--api-url",
    metavar="URL",
    help="API base (default: GITHUB_API_URL or https://api.github.com; "
    "GitLab: CI_SERVER_URL or https://gitlab.com).",
)
@click.option(
    "--check-name",
    default="pipeline-guard",
    show_default=True,
    help="The guard's status check name as branch protection / rulesets require it.",
)
@click.option(
    "--app-id",
    type=int,
    help="GitHub: the app the required check must come from (default: any app; GitHub Actions is 15368).",
)
@click.option(
    "--environment",
    "environments",
    multiple=True,
    metavar="NAME",
    help="An environment your workflows deploy to: warn when it does not exist (repeatable).",
)
@click.option(
    "--ci-file",
    "ci_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A workflow file or .gitlab-ci.yml: the environments its jobs deploy to must exist (repeatable).",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    help="Policy file whose identity.accounts name your own agent accounts and apps.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@guarded
def doctor(
    repo: str | None,
    platform: str | None,
    token_env: str | None,
    api_url: str | None,
    check_name: str,
    app_id: int | None,
    environments: tuple[str, ...],
    ci_files: tuple[str, ...],
    policy: str | None,
    fmt: str,
) -> None:
    """Preflight: warn about platform settings that quietly undo the guard (read-only).

    \b
    Examples:
      pipeline-guard doctor --repo acme/widget --token-env ADMIN_READ_TOKEN
      pipeline-guard doctor --platform gitlab --repo group/project --environment production
    A setting the token may not read is reported as "could not verify: needs <permission>".
    """
    import os

    from guard.doctor import Options, exit_code, referenced_environments, render_json, render_text
    from guard.errors import UsageError
    from guard.fingerprints import load_fingerprints
    from guard.policy import builtin_policy, load_policy_file

    env = os.environ
    plat = platform or ("gitlab" if env.get("GITLAB_CI") else "github")
    gitlab = plat == "gitlab"
    name = repo or env.get("CI_PROJECT_PATH" if gitlab else "GITHUB_REPOSITORY") or ""
    if not name or (not gitlab and name.count("/") != 1):
        raise UsageError("expected OWNER/NAME" if not gitlab else "expected a project path", where="--repo")
    var = token_env or ("PIPELINE_GUARD_GITLAB_TOKEN" if gitlab else "GITHUB_TOKEN")
    token = env.get(var, "").strip()
    if not token:
        raise UsageError(f"no token in ${var}", where="--token-env")
    default_url = (
        (env.get("CI_SERVER_URL") or "https://gitlab.com")
        if gitlab
        else (env.get("GITHUB_API_URL") or "https://api.github.com")
    )
    wanted = tuple(dict.fromkeys([*environments, *referenced_environments(ci_files)]))
    opts = Options(name, token, api_url or default_url, check_name, wanted, app_id, var)
    fp = load_fingerprints(load_policy_file(policy) if policy else builtin_policy())
    if gitlab:
        from guard.doors.gitlab.doctor import run as run_doctor
    else:
        from guard.doors.github.doctor import run as run_doctor
    results = run_doctor(opts, fp)
    render = render_json if fmt == "json" else render_text
    click.echo(render(results, plat, name), nl=False)
    sys.exit(exit_code(results))


SERVE_EPILOG = """\b
Environment:
  PIPELINE_GUARD_WEBHOOK_SECRET        the App's webhook secret (required)
  PIPELINE_GUARD_APP_ID                the App's id, with
  PIPELINE_GUARD_APP_PRIVATE_KEY       its private key (PEM), or PIPELINE_GUARD_APP_PRIVATE_KEY_FILE
  PIPELINE_GUARD_GITHUB_TOKEN          instead of the App: a token for a single repository
  PIPELINE_GUARD_GITHUB_API_URL        default https://api.github.com (GHES: https://HOST/api/v3)
  PIPELINE_GUARD_STORE_URL             redis://HOST:6379/0: one verdict store shared by all replicas
Exit codes: 0 stopped (SIGTERM, Ctrl-C), 2 bad set-up (missing secret or credentials, bad policy).
"""


@main.command(epilog=SERVE_EPILOG)
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: a free port."
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    help="The server's policy file (default: the built-in policy). Never read from a repository.",
)
@click.option("--quiet", is_flag=True, help="No per-delivery log lines on stderr.")
@guarded
def serve(host: str, port: int, policy: str | None, quiet: bool) -> None:
    """Webhook receiver for a GitHub App's custom deployment protection rule.

    \b
    Judges each deployment_protection_rule delivery from GitHub's current state (the agent commits
    since the last successful deployment need an approval on their merged pull request) and answers
    the run with approved or rejected. Stateless: run as many replicas as you like; GET /healthz.
    See docs/deploy.md for the App's permissions.
    """
    import os

    from guard.doors.github.serve import config_from_env
    from guard.doors.github.serve import serve as run_server

    run_server(config_from_env(dict(os.environ), policy, quiet), host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
