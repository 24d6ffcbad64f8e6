"""Line-level provenance from Git AI authorship logs (the Git AI Standard v3.0.0, `refs/notes/ai`).

A note attached to a commit lists, per file, the lines each AI session wrote, and what each
session was (`agent_id.tool`, `agent_id.model`):

    src/app.py
      d9978a8723e02b52 1-4,9
    ---
    {"schema_version": "authorship/3.0.0", "prompts": {"d9978a8723e02b52":
      {"agent_id": {"tool": "claude", "model": "..."}, ...}}}

Spec: https://github.com/git-ai-project/git-ai/blob/main/specs/git_ai_standard_v3.0.0.md

Notes are written by whoever can push the notes ref, so they are claimed evidence, and they only
ever add agent attribution: a person's commit whose lines on a gated path an agent wrote is agent
work for that path; a note can never make an agent's commit a person's. A note that cannot be
read (too large, not the format, hostile) is ignored with a note in the report; absent notes
change nothing. The notes are read from git objects only (the notes commit's tree), so the
pre-receive hook reads a notes ref pushed in the same push from the quarantine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guard.model import Change, Commit, Evidence

if TYPE_CHECKING:
    from guard.fingerprints import Fingerprints
    from guard.git.repo import GitRepo

NOTES_REF = "refs/notes/ai"
MAX_NOTE_BYTES = 2_000_000
MAX_FILES = 20_000  # files per note
MAX_NOTES_LISTED = 500_000  # entries of the notes tree read at most
_ENTRY = re.compile(r"^  ([0-9a-fA-F]{7,64}) ((?:\d+(?:-\d+)?)(?:,\d+(?:-\d+)?)*)$")
_SLUG = re.compile(r"[^a-z0-9]+")
_NOTE_PATH = re.compile(r"^[0-9a-f]{2}(?:/?[0-9a-f]{2})*$")


@dataclass(frozen=True)
class Session:
    tool: str
    model: str


@dataclass
class AuthorshipLog:
    """Per file, the lines each AI session wrote (counts only: line numbers never leave here)."""

    files: dict[str, dict[str, int]] = field(default_factory=dict)  # path -> session -> lines
    sessions: dict[str, Session] = field(default_factory=dict)


class NoteError(ValueError):
    pass


def _count(ranges: str) -> int:
    n = 0
    for part in ranges.split(","):
        lo, _, hi = part.partition("-")
        first, last = int(lo), int(hi or lo)
        if first < 1 or last < first:
            raise NoteError(f"bad line range {part[:40]!r}")
        n += last - first + 1
    return n


def _path(line: str) -> str:
    if line.startswith('"') and line.endswith('"') and len(line) >= 2:
        return line[1:-1]
    return line


def parse_note(text: str) -> AuthorshipLog:
    """Raises NoteError naming what is wrong; never anything else."""
    head, sep, meta_text = text.partition("\n---\n")
    if not sep:
        head, sep, meta_text = text.partition("\n---")
    if not sep and text.startswith("---\n"):
        head, sep, meta_text = "", "---", text[4:]
    if not sep:
        raise NoteError("no `---` divider between attestations and metadata")
    try:
        meta = json.loads(meta_text)
    except (ValueError, RecursionError) as e:
        raise NoteError(f"metadata is not JSON ({type(e).__name__})") from None
    if not isinstance(meta, dict) or not str(meta.get("schema_version", "")).startswith("authorship/"):
        raise NoteError("metadata has no authorship schema_version")
    prompts = meta.get("prompts")
    log = AuthorshipLog()
    for key, rec in prompts.items() if isinstance(prompts, dict) else []:
        agent = rec.get("agent_id") if isinstance(rec, dict) else None
        if isinstance(agent, dict) and isinstance(agent.get("tool"), str) and agent["tool"].strip():
            log.sessions[str(key).lower()] = Session(
                agent["tool"].strip()[:80], str(agent.get("model") or "")[:80]
            )
    current: str | None = None
    for line in head.split("\n"):
        if not line.strip():
            continue
        if not line.startswith(" "):
            current = _path(line)
            if len(log.files) >= MAX_FILES:
                raise NoteError(f"more than {MAX_FILES} files")
            continue
        m = _ENTRY.match(line)
        if m is None or current is None:
            raise NoteError(f"unreadable attestation line {line.strip()[:60]!r}")
        session, lines = m.group(1).lower(), _count(m.group(2))
        if session not in log.sessions:
            continue  # a line range no prompt record explains: no agent to name
        per = log.files.setdefault(current, {})
        per[session] = per.get(session, 0) + lines
    return log


def notes_commit(repo: GitRepo, change: Change) -> str | None:
    """The notes commit to read: the one a push brings (pre-receive sets `Change.ai_notes`), else
    the repository's own `refs/notes/ai`."""
    return change.ai_notes or repo.ref_commit(NOTES_REF)


def read_notes(repo: GitRepo, notes: str, shas: Iterable[str]) -> dict[str, str]:
    """commit sha -> note text, for the commits asked about, from the notes commit's tree."""
    wanted = {s.lower() for s in shas}
    out: dict[str, str] = {}
    if not wanted:
        return out
    raw = repo.run("ls-tree", "-r", "-z", "--end-of-options", notes, check=False)
    for n, entry in enumerate(raw.split(b"\0")):
        if n >= MAX_NOTES_LISTED:
            break
        meta, _, name = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) != 3 or parts[1] != b"blob":
            continue
        path = name.decode("ascii", "replace")
        sha = path.replace("/", "")
        if sha in wanted and _NOTE_PATH.match(path):
            data = repo.read_blob(parts[2].decode(), MAX_NOTE_BYTES + 1)
            ok = data is not None and len(data) <= MAX_NOTE_BYTES
            out[sha] = data.decode("utf-8", "replace") if data is not None and ok else ""
    return out


def vendor_of(tool: str, fp: Fingerprints) -> str:
    """The catalogue's vendor for a tool name, else `other:<slug>`."""
    hit = fp.aliases.search(tool)
    if hit is not None and hit[0].kind == "agent":
        return hit[0].vendor
    slug = _SLUG.sub("-", tool.lower()).strip("-")[:40] or "unnamed"
    return f"other:{slug}"


def provenance(log: AuthorshipLog, fp: Fingerprints) -> dict[str, dict[str, int]]:
    """path -> vendor -> lines an agent wrote there."""
    out: dict[str, dict[str, int]] = {}
    for path, per in log.files.items():
        for session, lines in per.items():
            vendor = vendor_of(log.sessions[session].tool, fp)
            slot = out.setdefault(path, {})
            slot[vendor] = slot.get(vendor, 0) + lines
    return out


def attach_provenance(change: Change, fp: Fingerprints) -> None:
    """Read the notes of the change's commits onto them (Commit.ai_lines) with claimed evidence."""
    from guard.git.repo import GitRepo

    repo = change.blobs
    if not isinstance(repo, GitRepo) or not change.commits:
        return
    notes = notes_commit(repo, change)
    if notes is None:
        return
    texts = read_notes(repo, notes, (c.sha for c in change.commits))
    by_sha = {c.sha.lower(): c for c in change.commits}
    for sha, text in texts.items():
        c = by_sha[sha]
        try:
            if not text:
                raise NoteError(f"unreadable or larger than {MAX_NOTE_BYTES} bytes")
            c.ai_lines = provenance(parse_note(text), fp)
        except NoteError as e:
            change.notes.append(f"git-ai note of {sha[:12]} ignored: {e}")
            continue
        _evidence(c)


def _evidence(c: Commit) -> None:
    totals: dict[str, int] = {}
    for per in c.ai_lines.values():
        for vendor, lines in per.items():
            totals[vendor] = totals.get(vendor, 0) + lines
    c.ai_evidence = tuple(
        Evidence(
            "git-ai-note",
            f"{lines} line(s) in {sum(1 for p in c.ai_lines.values() if vendor in p)} file(s)",
            NOTES_REF,
            False,
            f"agent:{vendor}",
        )
        for vendor, lines in sorted(totals.items())
    )


def path_agents(commit: Commit, path: str) -> list[str]:
    """The vendors whose agents wrote lines of `path` in `commit`, by its note."""
    return sorted(v for v, n in commit.ai_lines.get(path, {}).items() if n > 0)


def fetch_notes(repo: GitRepo) -> list[str]:
    """CI clones fetch no notes: fetch `refs/notes/ai` from origin when the clone lacks it. A remote
    without the ref (the usual case) is no error; the notes stay claimed evidence either way."""
    if repo.ref_commit(NOTES_REF) is not None or repo.proc("remote", "get-url", "origin").returncode:
        return []
    ok, _ = repo.network("fetch", "--quiet", "--no-tags", "origin", f"+{NOTES_REF}:{NOTES_REF}")
    return ["read git-ai authorship notes (refs/notes/ai) from origin"] if ok else []
