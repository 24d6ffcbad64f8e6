"""Collect the facts an activity report is built from: identified commits and audit records.

Git: one `identify_range` pass (kind, vendor, autonomy per commit; its `on_commit` hook hands us
dates, subjects and session trailers without a second metadata pass) while, in parallel, one
`git log --numstat` pass counts changed lines and paths. Audit: JSON lines read with
`guard.audit.read` (a missing file or a bad line is a UsageError naming file and line).

Untrusted strings kept here (subjects and session links of commits that carry one) stay raw
until aggregation keeps their session; then each passes through the shared redaction path whole,
before it is cut short. The finished document is redacted once more as a whole.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from guard.audit import SESSION_TRAILERS
from guard.audit import read as read_audit_file
from guard.errors import InternalError, UsageError
from guard.git.parse import decode_path
from guard.git.repo import GitRepo
from guard.identify_change import identify_range
from guard.model import Commit, Identity
from guard.policy import Policy
from guard.redact import redact_text

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?$")
RAW_CHARS = 2000
_SESSION_KEYS = frozenset(SESSION_TRAILERS)
ERROR = "\0error"  # the numstat worker's failure, under a key no sha can have


@dataclass
class CommitFact:
    sha: str
    time: int  # committer time, unix seconds
    kind: str
    vendor: str | None
    autonomy: str | None
    subject: str = ""  # raw (commits with session links only): redacted when a session is shown
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (trailer key, raw link)
    lines: int = 0  # added + deleted (binary files count 0)
    paths: list[str] = field(default_factory=list)


@dataclass
class GitFacts:
    repository: str
    range: str
    commits: list[CommitFact]


def parse_since(repo: GitRepo, since: str | None) -> tuple[str, list[str], str]:
    """`--since` as (rev range, extra git log args, description): a date (YYYY-MM-DD, or ISO with
    time) limits by committer date; anything else must be a revision and means REV..HEAD."""
    if since is None or not since.strip():
        return "HEAD", [], "HEAD"
    text = since.strip()
    if _DATE.match(text):
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            raise UsageError(f"--since: {text!r} is not a valid date (YYYY-MM-DD)") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)  # a bare date: from its start, UTC (git alone would
        git_date = dt.strftime("%Y-%m-%d %H:%M:%S %z")  # take the current time of day)
        return "HEAD", [f"--since={git_date}"], f"HEAD since {text}"
    if text.startswith("-") or any(ch.isspace() for ch in text):
        raise UsageError(f"--since: {text!r} is neither a date (YYYY-MM-DD) nor a revision")
    try:
        repo.resolve(text, "revision")
    except UsageError:
        raise UsageError(f"--since: {text!r} is neither a date (YYYY-MM-DD) nor a known revision") from None
    return f"{text}..HEAD", [], f"{text}..HEAD"


def _numstat(repo: GitRepo, rev_range: str, extra: list[str], out: dict[str, tuple[int, list[str]]]) -> None:
    """sha -> (changed lines, paths) for every non-merge commit, from one `git log --numstat -z`."""
    args = ["git", "log", "--no-renames", "--numstat", "-z", "--format=%x01%H", *extra]
    proc = subprocess.run(
        [*args, "--end-of-options", rev_range, "--"], cwd=repo.path, capture_output=True, check=False
    )
    if proc.returncode != 0:
        out[ERROR] = (proc.returncode, [proc.stderr.decode("utf-8", "replace").strip()[-200:]])
        return
    sha = ""
    lines = 0
    paths: list[str] = []
    for tok in proc.stdout.split(b"\0"):
        if tok.startswith(b"\x01"):  # entries start with a digit or '-': this is a commit
            if sha:
                out[sha] = (lines, paths)
            sha, lines, paths = tok[1:].decode("ascii", "replace"), 0, []
            continue
        tok = tok.lstrip(b"\n")
        if not tok:
            continue
        added, _, rest = tok.partition(b"\t")
        deleted, _, path = rest.partition(b"\t")
        if added.isdigit() and deleted.isdigit():
            lines += int(added) + int(deleted)
        paths.append(decode_path(path))
    if sha:
        out[sha] = (lines, paths)


def collect_git(
    repo_dir: str,
    since: str | None,
    policy: Policy,
    progress: Callable[[int], None] | None = None,
) -> GitFacts:
    repo = GitRepo(repo_dir)
    if not repo.exists("HEAD"):
        raise UsageError("the repository has no commits (HEAD does not resolve)", where=repo_dir)
    rev_range, extra, described = parse_since(repo, since)
    stats: dict[str, tuple[int, list[str]]] = {}
    worker = threading.Thread(target=_numstat, args=(repo, rev_range, extra, stats), daemon=True)
    worker.start()  # git computes diffs on the other core while Python identifies
    facts: list[CommitFact] = []

    def seen(c: Commit, ident: Identity) -> None:
        links = [(k, v) for k, v in c.trailers if k.lower() in _SESSION_KEYS]
        fact = CommitFact(c.sha, c.committed_at, ident.kind, ident.vendor, ident.autonomy)
        if links:  # subjects are shown only in session timelines: redacted there, once kept
            fact.subject = c.subject[:RAW_CHARS]
            fact.sessions = [(k.lower(), v[:RAW_CHARS]) for k, v in links]
        facts.append(fact)

    identify_range(repo, rev_range, policy, progress, extra=extra, on_commit=seen)
    worker.join()
    if ERROR in stats:
        raise InternalError(f"git log --numstat failed: {stats[ERROR][1][0]}")
    for f in facts:
        lines, paths = stats.get(f.sha, (0, []))
        f.lines = lines
        if f.kind == "agent":
            f.paths = paths
    name = repo.path.name or str(repo.path)
    return GitFacts(repository=redact_text(name), range=described, commits=facts)


def read_audit(paths: Iterable[str]) -> list[dict[str, Any]]:
    """Every record of every file, in file order (UsageError on a missing file or a bad line)."""
    out: list[dict[str, Any]] = []
    for p in paths:
        out.extend(rec for _, rec in read_audit_file(p))
    return out


def parse_time(value: Any) -> int | None:
    """An audit record's `time` (ISO 8601, UTC) as unix seconds; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp())
