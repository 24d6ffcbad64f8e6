"""Secret rules (kind `secret`): credentials in added lines, commit messages and added file names.

Scanned commit by commit (a secret added and then removed still lands in history), from git
objects only (FileChange.added), so bare repositories and pre-receive quarantine work the same.
The scan is done once per Change and cached; each secret rule then filters it by its own match
block (detectors, exclude_detectors, exclude_paths, min_confidence).

Allowlisting:
- a detect-secrets baseline, read at the trusted ref by the door and handed over in
  `CheckContext.baseline`, silences the secrets it lists for the files it lists;
- a `pragma: allowlist secret` silences a line only when that line, pragma included, was already in
  the file at the base. A pragma the change adds itself downgrades a `block` to `step-up` (an agent
  must not whitelist its own leak), unless `secrets.honour_pragmas_added_in_change` is set.

Findings carry `redact(value)` as fingerprint; no field ever holds the value.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pathspec

from guard import budget
from guard.checks.changeio import per_change
from guard.diff import added_lines
from guard.model import Action, Change, FileChange, Finding, finding_id
from guard.secrets.binary import scan_blob
from guard.secrets.detectors import BY_NAME, CONFIDENCE_RANK
from guard.secrets.engine import Hit, raw_scannable, scan_text, scan_texts
from guard.secrets.parallel import Result, scan_patches
from guard.secrets.redact import baseline_hash, redact, redact_in, secret_digest

if TYPE_CHECKING:
    from guard.checks.interface import CheckContext
    from guard.policy import Rule, SecretsConfig

Where = Literal["file", "message", "filename", "tag"]
PragmaState = Literal["none", "base", "added"]


@dataclass(frozen=True)
class SecretRecord:
    """One secret found in the change, without its value."""

    detector: str
    confidence: str
    digest: str  # sha256 of the value (dedupe key, finding id)
    hashed: str  # sha1 of the value (detect-secrets baseline key)
    fingerprint: str  # redact(value)
    where: Where
    path: str | None  # already redacted for file-name findings
    line: int | None
    commit: str | None
    pragma: PragmaState
    ref: str | None = None  # the tag, for secrets in a tag message
    tier: str = "high"  # "high": provider formats, private keys; "generic": judged by its context
    reason: str = ""  # why it is a credential, in words (never the value)


# ----- scanning (once per change) -----


def _base_lines(change: Change, path: str) -> set[str] | None:
    """The stripped lines of `path` at the base of the change (to judge pre-existing pragmas)."""
    for f in change.files:
        if f.path == path and f.old_blob and change.blobs is not None:
            raw = change.blobs.read_blob(f.old_blob, 5_000_000)
            if raw is None:
                return None
            return {ln.strip() for ln in raw.decode("utf-8", "replace").split("\n")}
    return None


def _records(
    change: Change,
    hits: list[Hit],
    where: Where,
    path: str | None,
    commit: str | None,
    lines: dict[int, str],
    shown: str | None = None,
    ref: str | None = None,
) -> list[SecretRecord]:
    """Hits -> records; `shown` is the path as reports may show it (secrets in it redacted)."""
    out: list[SecretRecord] = []
    base: set[str] | None = None
    for h in hits:
        pragma: PragmaState = "none"
        if h.pragma:
            if where == "file" and path is not None and base is None:
                base = _base_lines(change, path) or set()
            pragma = "base" if base and lines.get(h.line, "").strip() in base else "added"
        out.append(
            SecretRecord(
                detector=h.detector,
                confidence=h.confidence,
                digest=secret_digest(h.value),
                hashed=baseline_hash(h.value),
                fingerprint=redact(h.value),
                where=where,
                path=shown if shown is not None else path,
                line=h.line,
                commit=commit,
                pragma=pragma,
                ref=ref,
                tier=h.tier,
                reason=redact_in(h.reason, h.value),  # a reason is built without the value; belt and braces
            )
        )
    return out


INCOMPLETE = "scan-incomplete"  # a blob that could not be scanned: a record, never a pass


def _incomplete(path: str, commit: str | None, blob: str, why: str) -> SecretRecord:
    digest = hashlib.sha256(f"{blob}\0{why}".encode()).hexdigest()
    return SecretRecord(INCOMPLETE, "high", digest, "", why, "file", path, None, commit, "none")


def _scan_binary(
    change: Change, f: FileChange, commit: str | None, max_len: int, cap: int, nul: bool
) -> list[SecretRecord]:
    """The printable runs of a file git calls binary and that was not re-read as text, or of one
    whose added lines hold a NUL (UTF-16 git diffed as text): ASCII and UTF-16LE, streamed."""
    if not f.new_blob or f.is_submodule or not (nul or (f.binary and not f.added)):
        return []
    reader = change.blobs
    if not (hasattr(reader, "stream_blob") and hasattr(reader, "blob_size")):
        return [_incomplete(f.path, commit, f.new_blob, "no git reader for binary blobs")]
    hits, why = scan_blob(reader, f.path, f.new_blob, f.old_blob, cap, max_len)  # type: ignore[arg-type]
    out = _records(change, hits, "file", f.path, commit, {})
    if why is not None:
        out.append(_incomplete(f.path, commit, f.new_blob, why))
    return out


def _scan_files(
    change: Change,
    files: list[FileChange],
    commit: str | None,
    max_len: int,
    done: dict[int, Result],
    max_binary: int = 50_000_000,
) -> list[SecretRecord]:
    """Records for `files`; `done` holds the raw-hunk scans already made (by FileChange id)."""
    out: list[SecretRecord] = []
    for f in files:
        budget.check("scanning for secrets")
        shown = f.path
        if f.status in ("added", "renamed", "copied"):
            named = [dataclasses.replace(h, line=0, pragma=False) for h in scan_text(f.path, f.path)]
            for h in named:
                shown = redact_in(shown, h.value)
            out.extend(_records(change, named, "filename", f.path, commit, {}, shown))
        if f.is_submodule:
            continue
        if id(f) in done:
            hits, lines = done[id(f)]
            nul = b"\0" in (f.patch or b"")
        else:  # spilled, or not valid UTF-8: the parsed lines
            added = added_lines(change, f)
            nul = any("\0" in a.text for a in added)
            hits = scan_texts(
                f.path, [a.number for a in added], [a.text for a in added], max_line_length=max_len
            )
            lines = {a.number: a.text for a in added} if hits else {}
        if hits:
            out.extend(_records(change, hits, "file", f.path, commit, lines, shown))
        out.extend(_scan_binary(change, f, commit, max_len, max_binary, nul))
    return out


def _raw_scans(groups: list[list[FileChange]], max_len: int) -> dict[int, Result]:
    """Every file with raw hunks the scanner can search as bytes, scanned in one batch (split
    across two processes when big): FileChange id -> (hits, hit lines' texts)."""
    files: list[FileChange] = []
    seen: set[int] = set()
    for group in groups:
        for f in group:
            patch = f.patch
            if patch is not None and not f.is_submodule and id(f) not in seen and raw_scannable(patch):
                seen.add(id(f))
                files.append(f)
    results = scan_patches([(f.path, f.patch or b"") for f in files], max_line_length=max_len)
    return {id(f): res for f, res in zip(files, results, strict=True)}


def scan_change(
    change: Change,
    max_line_length: int = 20_000,
    max_file_bytes: int = 5_000_000,
    max_binary_bytes: int = 50_000_000,
) -> list[SecretRecord]:
    """Every secret the change adds, oldest commit first, each (secret, place) once."""
    return per_change(
        change,
        f"secrets:{max_line_length}:{max_file_bytes}:{max_binary_bytes}",
        lambda: _scan(change, max_line_length, max_binary_bytes),
    )


def _scan(change: Change, max_line_length: int, max_binary_bytes: int) -> list[SecretRecord]:
    records: list[SecretRecord] = []
    commits = list(reversed(change.commits))  # `git log` order is newest first
    done = _raw_scans([c.files for c in commits] if commits else [change.files], max_line_length)
    if commits:
        for c in commits:
            records.extend(_scan_files(change, c.files, c.sha, max_line_length, done, max_binary_bytes))
            hits = scan_text("", c.message, max_line_length=max_line_length)
            records.extend(_records(change, hits, "message", None, c.sha, {}))
    else:
        records.extend(_scan_files(change, change.files, None, max_line_length, done, max_binary_bytes))
    for ref, text in change.tag_messages.items():
        hits = scan_text("", text, max_line_length=max_line_length)
        records.extend(_records(change, hits, "tag", None, None, {}, ref=ref))
    seen: set[tuple[str, str | None, Where]] = set()
    unique: list[SecretRecord] = []
    for r in records:
        key = (r.digest, r.path, r.where)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


# ----- the check -----


def _selected(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


_WHERE_TEXT = {
    "file": "added line",
    "message": "commit message",
    "filename": "file name",
    "tag": "tag message",
}


def _describe(r: SecretRecord) -> str:
    where = _WHERE_TEXT[r.where]
    if r.where == "message":
        place = f"commit message line {r.line}"
    elif r.where == "tag":
        place = f"tag message of {r.ref} line {r.line}"
    elif r.where == "filename":
        place = f"file name {r.path}"
    else:
        place = f"{r.path}:{r.line}"
    commit = f" (commit {r.commit[:12]})" if r.commit else ""
    known = BY_NAME.get(r.detector)
    label = known.description.split(" (")[0] if known else r.detector
    if r.tier == "generic":
        label = "credential"
    why = f"; {r.tier} tier: {r.reason}" if r.reason else f"; {r.tier} tier"
    return f"{r.detector}: possible {label} in an {where}, {place}{commit}{why}; fingerprint {r.fingerprint}"


_RANK: dict[str, int] = {"warn": 0, "step-up": 1, "block": 2}


def _tier_action(rule: Rule, cfg: SecretsConfig, r: SecretRecord, tests: pathspec.GitIgnoreSpec) -> Action:
    """The tier's action in the record's context (code or tests), never above the rule's own."""
    in_tests = r.where in ("file", "filename") and r.path is not None and tests.match_file(r.path)
    tiered: Action = cfg.tiers.action(r.tier, in_tests)
    return tiered if _RANK[tiered] < _RANK[rule.action] else rule.action


def check(ctx: CheckContext, rule: Rule) -> list[Finding]:
    change, policy = ctx.change, ctx.policy
    cfg = policy.secrets
    match = rule.matcher()
    records = scan_change(change, cfg.max_line_length, cfg.max_file_bytes, cfg.max_binary_bytes)
    baseline = ctx.baseline
    excluded = pathspec.GitIgnoreSpec.from_lines(match.exclude_paths) if match.exclude_paths else None
    floor = CONFIDENCE_RANK[match.min_confidence]
    tests = pathspec.GitIgnoreSpec.from_lines(cfg.test_paths)
    findings: list[Finding] = []
    for r in records:
        if r.detector == INCOMPLETE:  # whatever detectors a rule selects: no scan is no pass
            if excluded is None or not excluded.match_file(r.path or ""):
                findings.append(_incomplete_finding(rule, r))
            continue
        if match.detectors and not _selected(r.detector, match.detectors):
            continue
        if _selected(r.detector, match.exclude_detectors) or CONFIDENCE_RANK[r.confidence] < floor:
            continue
        if excluded is not None and r.path is not None and r.where == "file" and excluded.match_file(r.path):
            continue
        if baseline is not None and r.path is not None and r.hashed in baseline.get(r.path, frozenset()):
            continue
        if r.pragma == "base" or (r.pragma == "added" and cfg.honour_pragmas_added_in_change):
            continue
        action = _tier_action(rule, cfg, r, tests)
        message = _describe(r)
        if r.pragma == "added":
            action = "step-up" if action == "block" else action
            message += "; silenced only by a 'pragma: allowlist secret' this change added itself"
        findings.append(
            Finding(
                rule=rule.id,
                kind="secret",
                action=action,
                message=message,
                path=r.path,
                line=r.line,
                commit=r.commit,
                commits=(r.commit,) if r.commit else (),
                category=r.detector,
                fingerprint=r.fingerprint,
                id=finding_id("secret", rule.id, r.detector, f"{r.path}\0{r.where}\0{r.digest}"),
                confidence=r.confidence,
                tier=r.tier,
                reason=r.reason,
            )
        )
    return findings


def _incomplete_finding(rule: Rule, r: SecretRecord) -> Finding:
    """A person looks at what could not be scanned: step-up at most (a block admits no approval)."""
    commit = f" (commit {r.commit[:12]})" if r.commit else ""
    return Finding(
        rule=rule.id,
        kind="secret",
        action="step-up" if rule.action == "block" else rule.action,
        message=f"{INCOMPLETE}: {r.path}{commit} could not be scanned for secrets ({r.fingerprint}); "
        "a credential in it cannot be ruled out",
        path=r.path,
        commit=r.commit,
        commits=(r.commit,) if r.commit else (),
        category=INCOMPLETE,
        id=finding_id("secret", rule.id, INCOMPLETE, f"{r.path}\0{r.digest}"),
    )
