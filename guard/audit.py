"""Audit trail: every decision as one JSON line, optionally hash-chained.

A record answers "what did the agent do, who approved it, why was it allowed": actors with their
verified/claimed evidence, findings (never a secret value: findings carry redacted fingerprints
only), approvals counted and rejected with why, the verdict, the policy digest, and the keys that
link an action chain (repository, PR/MR, commits, run id, environment, the agent's own session
or log links from its commit trailers).

Chaining: each record carries `prev` (the previous record's `hash`) and its own `hash` over its
canonical JSON. Editing or deleting a record in the middle breaks the chain; deleting the *tail*
cannot be seen from the file alone — anchor the last hash somewhere the writer cannot rewrite
(a protected branch, object storage) and pass it to `audit verify --expect-head`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard import __version__
from guard.errors import GuardError, UsageError
from guard.model import Decision
from guard.redact import redact_data, redact_decision
from guard.trailers import trailer_values

GENESIS = "0" * 64
# Trailers/body lines that link a commit to the agent session that wrote it.
SESSION_TRAILERS = ("agent-logs-url", "claude-session", "copilot-session", "codex-task", "devin-run")


def canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def record_hash(rec: dict[str, Any]) -> str:
    body = {k: v for k, v in rec.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def session_links(decision: Decision) -> list[dict[str, str]]:
    links: list[dict[str, str]] = []
    for c in decision.change.commits:
        for key in SESSION_TRAILERS:
            for value in trailer_values(c.trailers, key):
                links.append({"commit": c.sha, "key": key, "value": value})
    return links


def build_record(decision: Decision, run: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`run`: the door's identifiers of the CI run that judged (guard/doors/interface.py run_ids)."""
    decision = redact_decision(decision)
    ch = decision.change
    s = decision.step_up
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": {"name": "pipeline-guard", "version": __version__},
        "door": ch.door,
        "repository": ch.repository,
        "number": ch.number,
        "source_ref": ch.source_ref,
        "target_ref": ch.target_ref,
        "environment": ch.environment,
        "ref_updates": [
            {"ref": r.ref, "old": r.old, "new": r.new, "forced": r.forced} for r in ch.ref_updates
        ],
        "range": {"base": ch.base, "head": ch.head},
        "run": dict(run or {}),
        "identity": ch.identity.to_dict(),
        "actors": [
            {"login": a.login, "role": a.role, "verified": a.verified, "identity": a.identity.to_dict()}
            for a in ch.actors
        ],
        "commits": [
            {"sha": c.sha, "identity": c.identity.label, "autonomy": c.identity.autonomy} for c in ch.commits
        ],
        "sessions": session_links(decision),
        "findings": [f.to_dict() for f in decision.findings],
        "approvals": {
            "counted": [a.to_dict() for a in (s.counted if s else [])],
            "rejected": [a.to_dict(why) for a, why in (s.rejected if s else [])],
            "break_glass": s.break_glass.to_dict() if s and s.break_glass else None,
        },
        "verdict": decision.verdict,
        "mode": decision.mode,
        "exit_code": decision.exit_code,
        "policy": {"source": decision.policy_source, "digest": decision.policy_digest},
    }


def _last_hash(path: Path) -> str:
    """The `hash` of the file's last record (GENESIS for a new or empty file)."""
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 1_000_000))
        tail = fh.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        value = json.loads(tail).get("hash")
    except ValueError:
        raise UsageError("last line is not JSON: cannot chain onto it", where=str(path)) from None
    return value if isinstance(value, str) else GENESIS


def append(path: str | Path, record: dict[str, Any], *, chain: bool = True) -> dict[str, Any]:
    """Append one record (under an exclusive lock, so concurrent jobs do not interleave)."""
    p = Path(path)
    clean = redact_data(record)  # one redaction path for everything the guard shows or writes
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("a+b") as fh:
            try:
                import fcntl

                fcntl.flock(fh, fcntl.LOCK_EX)
            except (ImportError, OSError):
                pass  # no advisory locks here (e.g. some network filesystems): single writer assumed
            rec = dict(clean)
            if chain:
                rec["prev"] = _last_hash(p)
                rec["hash"] = record_hash(rec)
            fh.seek(0, os.SEEK_END)
            fh.write(canonical(rec) + b"\n")
    except OSError as e:
        raise GuardError(f"cannot write audit record: {e.strerror}", where=str(p)) from None
    return rec


def read(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    p = Path(path)
    try:
        fh = p.open("rb")
    except OSError as e:
        raise UsageError(f"cannot read audit log: {e.strerror}", where=str(p)) from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                raise UsageError(f"line {n} is not JSON", where=str(p)) from None
            if not isinstance(rec, dict):
                raise UsageError(f"line {n} is not a JSON object", where=str(p))
            yield n, rec


@dataclass
class Verification:
    records: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: str | Path, expect_head: str | None = None) -> Verification:
    result = Verification()
    prev = GENESIS
    for n, rec in read(path):
        result.records += 1
        if rec.get("prev") != prev:
            result.problems.append(
                f"line {n}: chain broken (a record before it was edited, removed or inserted)"
            )
        if rec.get("hash") != record_hash(rec):
            result.problems.append(f"line {n}: record was edited after it was written")
        h = rec.get("hash")
        prev = h if isinstance(h, str) else prev
    result.head = prev
    if expect_head and expect_head != prev:
        result.problems.append(
            f"last hash {prev[:16]} is not the anchored {expect_head[:16]}: records removed?"
        )
    return result


def query(
    path: str | Path,
    *,
    session: str | None = None,
    vendor: str | None = None,
    commit: str | None = None,
    repository: str | None = None,
) -> list[dict[str, Any]]:
    """Records matching every given key: an agent session link, an agent vendor, a commit prefix."""
    out = []
    for _, rec in read(path):
        if session and not any(session in s.get("value", "") for s in rec.get("sessions", [])):
            continue
        if vendor:
            labels = [c.get("identity", "") for c in rec.get("commits", [])]
            labels += [a.get("identity", {}).get("vendor") or "" for a in rec.get("actors", [])]
            if not any(lbl == f"agent:{vendor}" or lbl == vendor for lbl in labels):
                continue
        if commit and not any(c.get("sha", "").startswith(commit) for c in rec.get("commits", [])):
            continue
        if repository and rec.get("repository") != repository:
            continue
        out.append(rec)
    return out


def summarize(rec: dict[str, Any]) -> str:
    appr = ", ".join(a["approver"] for a in rec.get("approvals", {}).get("counted", [])) or "nobody"
    agents = sorted(
        {c["identity"] for c in rec.get("commits", []) if c.get("identity", "").startswith("agent")}
    )
    where = rec.get("environment") or rec.get("target_ref") or "-"
    head = (rec.get("range", {}).get("head") or "")[:12]
    return (
        f"{rec.get('time')} {rec.get('door')} {rec.get('repository') or '-'} head {head} -> {where}: "
        f"{rec.get('verdict')} ({len(rec.get('commits', []))} commits; agents {', '.join(agents) or 'none'}; "
        f"approved by {appr})"
    )
