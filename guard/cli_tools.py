"""The commands around the judgement: policy, audit, report, doctor, serve (guard/cli.py adds them).

Heavy modules are imported inside each command, as in cli.py: the hook path imports this module.
"""

from __future__ import annotations

import json
import sys

import click

from guard.clikit import guarded, write


@click.group()
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


@click.group()
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


@click.command(epilog=REPORT_EPILOG)
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
    write(text, None if target == "-" else target)
    if target not in (None, "-"):
        click.echo(f"wrote {target}", err=True)


DOCTOR_EPILOG = """\b
Exit codes:
  0  every check ok
  1  some check warns or could not be verified (never silently green)
  2  usage error (bad flag, no token, unknown repository, token rejected)
  3  internal error (the API unreachable, an unexpected answer)
"""


@click.command(epilog=DOCTOR_EPILOG)
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


@click.command(epilog=SERVE_EPILOG)
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
