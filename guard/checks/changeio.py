"""Shared plumbing for the diff-aware checks: reading both sides of a file, per-change caching,
and turning detector candidates into `Finding`s filtered by a rule's match block.

Detectors produce `Candidate`s once per change (several rules run on the same change: the agent
rule, the human rule, a repository's own); each rule then keeps the categories it asks for.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from guard.model import Change, FileChange, Finding, FindingKind, finding_id

if TYPE_CHECKING:
    from guard.policy import Rule

MAX_FILE_BYTES = 1_000_000
T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """A detector's observation, before a rule turns it into a finding."""

    kind: FindingKind
    category: str
    message: str  # plain text; reports escape it; never a secret value
    path: str | None = None
    line: int | None = None
    confidence: str = "high"
    ref: str | None = None  # release findings about a ref update


@dataclass(frozen=True)
class Sides:
    """A file's text before and after the change (None: that side does not exist)."""

    old: str | None
    new: str | None
    error: str | None = None  # why a side exists but could not be read


def per_change(change: Change, key: str, compute: Callable[[], T]) -> T:
    """`compute()` once per (change, key): kept on the change (`Change.derived`), so it lives and
    dies with the run that judges it and no module holds state between runs."""
    if key not in change.derived:
        change.derived[key] = compute()
    value: T = change.derived[key]
    return value


def _read(change: Change, sha: str | None, max_bytes: int) -> tuple[str | None, str | None]:
    if sha is None:
        return None, None
    if change.blobs is None:
        return None, "content not available (no object reader)"
    data = change.blobs.read_blob(sha, max_bytes)
    if data is None:
        return None, f"content unreadable or larger than {max_bytes} bytes"
    return data.decode("utf-8", errors="replace"), None


def read_sides(change: Change, f: FileChange, max_bytes: int = MAX_FILE_BYTES) -> Sides:
    old, e1 = _read(change, f.old_blob, max_bytes)
    new, e2 = _read(change, f.new_blob, max_bytes)
    return Sides(old, new, e2 or e1)


def file_sides(change: Change, f: FileChange) -> Sides:
    """Both sides of one changed file, read once per change whichever check asks first."""
    table: dict[int, Sides] = per_change(change, "sides", dict)
    if id(f) not in table:
        table[id(f)] = read_sides(change, f)
    return table[id(f)]


def candidate(
    kind: FindingKind,
    category: str,
    message: str,
    loc: tuple[str, int | None] | None,
    confidence: str = "high",
    ref: str | None = None,
) -> Candidate:
    """A Candidate at (path, line), or about no file (ref updates)."""
    return Candidate(
        kind, category, message, loc[0] if loc else None, loc[1] if loc else None, confidence, ref
    )


def old_path(f: FileChange) -> str:
    return f.old_path or f.path


def category_selected(category: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    inc = list(include)
    return (not inc or category in inc) and category not in set(exclude)


def _anchor(change: Change, c: Candidate, texts: dict[str, list[str]]) -> str:
    """Where a candidate is, without its line number: the path and the line's own text."""
    if c.path is None:
        return f"ref\0{c.ref or ''}"
    if c.path not in texts:
        f = next((f for f in change.files if f.path == c.path), None)
        new = file_sides(change, f).new if f is not None else None
        texts[c.path] = new.splitlines() if new else []
    lines = texts[c.path]
    text = " ".join(lines[c.line - 1].split()) if c.line and 0 < c.line <= len(lines) else ""
    return f"{c.path}\0{text}"


def to_findings(change: Change, rule: Rule, candidates: Iterable[Candidate]) -> list[Finding]:
    """Candidates the rule selects -> findings, attributed to the commits that touched the file."""
    match = rule.matcher()
    out: list[Finding] = []
    seen: set[tuple[object, ...]] = set()
    anchors: dict[str, int] = {}  # the same anchor twice (two hits on one line) gets #1, #2...
    texts: dict[str, list[str]] = {}
    for c in candidates:
        if not category_selected(c.category, match.categories, match.exclude_categories):
            continue
        key = (c.category, c.path, c.line, c.message, c.ref)
        if key in seen:
            continue
        seen.add(key)
        tagged = () if c.path else change.tagged(c.ref)
        anchor = _anchor(change, c, texts)
        n = anchors.get(anchor, 0)
        anchors[anchor] = n + 1
        out.append(
            Finding(
                rule=rule.id,
                kind=c.kind,
                action=rule.action,
                message=c.message,
                path=c.path,
                line=c.line,
                commit=tagged[0] if tagged else None,
                commits=change.commits_touching(c.path) if c.path else tagged,
                category=c.category,
                id=finding_id(c.kind, rule.id, c.category, f"{anchor}\0{n}" if n else anchor),
                confidence=c.confidence,
            )
        )
    return out


def glob_match(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
