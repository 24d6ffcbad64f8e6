"""Aggregate collected facts into the activity document: mergeable counts, samples and timelines.

The document (schema `pipeline-guard.activity/1`) holds only what can be merged across
repositories by adding or concatenating: per-day counters, step-up/allowed counts per change,
approval-latency samples, break-glass uses, protected-path counters and session timelines.
`guard.activity.summary` derives shares, buckets and percentiles from it at render time.

A *change* in the audit trail is keyed by (repository, PR/MR number), or (repository, head) when
no number is known: re-runs on one change count once, and its step-up -> approval latency is the
time from its first step-up verdict to the first later record that counted an approval and
allowed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from guard.activity.collect import CommitFact, GitFacts, parse_time
from guard.globs import path_matcher
from guard.policy import Policy
from guard.redact import redact_text

SCHEMA = "pipeline-guard.activity/1"
MAX_SESSIONS = 200  # kept per export: the most recently active
MAX_EVENTS = 200  # per session: the earliest
MAX_PATHS = 500  # protected paths kept per export: the most touched
TEXT_CHARS = 160
RAW_CHARS = 2000  # untrusted text kept before redaction (redacted whole, then cut to show)
GATED = ("step-up", "block")
VERDICTS = frozenset({"allow", "warn", "step-up", "block"})
Counts = dict[str, int]


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def _s(value: Any, limit: int = TEXT_CHARS) -> str:
    """An untrusted value as bounded, redacted text."""
    return redact_text(str(value))[:limit] if value not in (None, "") else ""


def _r(value: Any) -> str:
    """An untrusted value kept raw (bounded) until shown: sessions are redacted once kept."""
    return str(value)[:RAW_CHARS] if value not in (None, "") else ""


def _redacted(session: dict[str, Any]) -> dict[str, Any]:
    """A kept session with every string through the shared redaction path, then cut short."""
    out = {k: _s(session[k], 300) if isinstance(session[k], str) else session[k] for k in session}
    out["events"] = [{**e, "text": _s(e["text"], 12 + TEXT_CHARS)} for e in session["events"]]
    return out


def _add(counter: Counts, key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


def series_keys(c: CommitFact) -> list[str]:
    keys = ["all", f"kind:{c.kind}"]
    if c.kind == "agent":
        keys += ["agent", f"vendor:{c.vendor or 'unspecified'}", f"autonomy:{c.autonomy or 'unspecified'}"]
    return keys


def group_matchers(policy: Policy) -> list[tuple[str, Callable[[str], bool]]]:
    """Path groups in policy order, each with its matcher."""
    return [(name, path_matcher(tuple(pats))) for name, pats in policy.path_groups.items() if pats]


def protected_groups(policy: Policy) -> set[str]:
    """Groups that a path rule gates (step-up or block): what "protected path" means here."""
    out: set[str] = set()
    for r in policy.active_rules():
        if r.kind == "path" and r.action in GATED:
            out.update(r.match.get("groups", []) or [])
    return out


class _Groups:
    def __init__(self, policy: Policy) -> None:
        self.matchers = group_matchers(policy)
        self.cache: dict[str, str | None] = {}

    def of(self, path: str) -> str | None:
        if path not in self.cache:
            self.cache[path] = next((g for g, m in self.matchers if m(path)), None)
        return self.cache[path]


def _commits(git: GitFacts, groups: _Groups, protected: set[str], doc: dict[str, Any]) -> None:
    days: dict[str, dict[str, Counts]] = doc["days"]
    paths: dict[str, dict[str, Any]] = {}
    for c in git.commits:
        day = days.setdefault(_day(c.time), {"commits": {}, "lines": {}})
        for key in series_keys(c):
            _add(day["commits"], key)
            _add(day["lines"], key, c.lines)
        for p in c.paths:
            g = groups.of(p)
            if g is None or g not in protected:
                continue
            entry = paths.setdefault(p, {"group": g, "commits": 0, "vendors": {}})
            entry["commits"] += 1
            _add(entry["vendors"], c.vendor or "unspecified")
    top = sorted(paths.items(), key=lambda kv: (-kv[1]["commits"], kv[0]))[:MAX_PATHS]
    doc["protected_paths"] = [{"repository": git.repository, "path": _s(p, 300), **entry} for p, entry in top]


def change_key(rec: dict[str, Any]) -> str:
    repo = str(rec.get("repository") or "-")
    if rec.get("number") not in (None, ""):
        return f"{repo}#{rec.get('number')}"
    head = (rec.get("range") or {}).get("head") or ""
    return f"{repo}@{head}"


def _approvals(rec: dict[str, Any]) -> dict[str, Any]:
    a = rec.get("approvals")
    return a if isinstance(a, dict) else {}


def _gating(records: list[tuple[int, dict[str, Any]]], groups: _Groups, doc: dict[str, Any]) -> None:
    changes: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for t, rec in records:
        changes.setdefault(change_key(rec), []).append((t, rec))
    by_kind: dict[str, Counts] = doc["gating"]["kind"]
    by_group: dict[str, Counts] = doc["gating"]["group"]
    for key, recs in changes.items():
        gated = any(r.get("verdict") in GATED for _, r in recs)
        outcome = "step-up" if gated else "allowed"
        kinds: set[str] = set()
        grps: set[str] = set()
        for _, r in recs:
            for f in r.get("findings") or []:
                if not isinstance(f, dict):
                    continue
                kinds.add(str(f.get("kind") or "other"))
                if f.get("path"):
                    grps.add(groups.of(str(f["path"])) or "other")
        for k in kinds or {"none"}:
            _add(by_kind.setdefault(_s(k, 40), {}), outcome)
        for g in grps or {"none"}:
            _add(by_group.setdefault(_s(g, 40), {}), outcome)
        _latency(key, recs, doc)


def _latency(key: str, recs: list[tuple[int, dict[str, Any]]], doc: dict[str, Any]) -> None:
    first = next(((t, r) for t, r in recs if r.get("verdict") in GATED), None)
    if first is None:
        return
    t0, r0 = first
    for t, r in recs:
        counted = _approvals(r).get("counted") or []
        if t >= t0 and counted and r.get("verdict") in ("allow", "warn"):
            who = counted[0].get("approver") if isinstance(counted[0], dict) else None
            doc["approvals"].append(
                {
                    "repository": _s(r0.get("repository") or "-"),
                    "change": _s(key),
                    "seconds": t - t0,
                    "approver": _s(who),
                }
            )
            return


def _break_glass(records: list[tuple[int, dict[str, Any]]], doc: dict[str, Any]) -> None:
    seen: set[tuple[str, ...]] = set()
    for t, rec in records:
        bg = _approvals(rec).get("break_glass")
        if not isinstance(bg, dict):
            continue
        change, who = _s(change_key(rec)), _s(bg.get("approver") or "-")
        reason = _s(bg.get("reason") or "", 300)
        where = _s(rec.get("environment") or rec.get("target_ref") or "-")
        if (change, who, reason, where) in seen:
            continue  # a re-run of the same job
        seen.add((change, who, reason, where))
        repo = _s(rec.get("repository") or "-")
        doc["break_glass"].append(
            {"time": t, "repository": repo, "change": change, "who": who, "reason": reason, "where": where}
        )


def _event(rec: dict[str, Any], t: int) -> list[dict[str, Any]]:
    repo = _r(rec.get("repository") or "-")
    v = rec.get("verdict")
    verdict = v if isinstance(v, str) and v in VERDICTS else "other"
    if rec.get("environment"):
        kind, text = "deploy", f"deploy to {_r(rec['environment'])}"
    elif rec.get("number") not in (None, ""):
        kind, text = "pr", f"PR/MR #{_r(rec['number'])} into {_r(rec.get('target_ref') or '-')}"
    elif rec.get("ref_updates"):
        refs = ", ".join(_r(u.get("ref")) for u in rec["ref_updates"][:3] if isinstance(u, dict))
        kind, text = "push", f"push {refs}"
    else:
        kind, text = "check", f"check {_r(rec.get('door') or '-')}"
    out = [{"time": t, "kind": kind, "text": f"{repo}: {text}: {verdict}", "verdict": verdict}]
    a = _approvals(rec)
    for appr in (a.get("counted") or [])[:5]:
        if isinstance(appr, dict):
            out.append({"time": t, "kind": "approval", "text": f"approved by {_r(appr.get('approver'))}"})
    bg = a.get("break_glass")
    if isinstance(bg, dict):
        text = f"break-glass by {_r(bg.get('approver'))}: {_r(bg.get('reason'))}"
        out.append({"time": t, "kind": "break-glass", "text": text})
    return out


def _sessions(git: GitFacts | None, records: list[tuple[int, dict[str, Any]]], doc: dict[str, Any]) -> None:
    sessions: dict[str, dict[str, Any]] = {}
    by_sha: dict[str, list[str]] = {}

    def session(link: str, key: str, repo: str, vendor: str | None) -> dict[str, Any]:
        s = sessions.get(link)
        if s is None:
            s = sessions[link] = {
                "link": link,
                "key": key,
                "repository": repo,
                "vendor": vendor,
                "events": [],
            }
        if s["vendor"] is None and vendor:
            s["vendor"] = vendor
        return s

    for c in git.commits if git else []:
        for key, link in c.sessions:
            s = session(link, key, git.repository if git else "-", c.vendor)
            s["events"].append({"time": c.time, "kind": "commit", "text": f"{c.sha[:12]} {c.subject}"})
            by_sha.setdefault(c.sha, []).append(link)
    for t, rec in records:
        links: dict[str, str] = {}
        for s in rec.get("sessions") or []:
            if isinstance(s, dict) and s.get("value"):
                links.setdefault(_r(s["value"]), _r(s.get("key") or "session"))
        vendor = None
        for c in rec.get("commits") or []:
            if not isinstance(c, dict):
                continue
            label = str(c.get("identity") or "")
            if label.startswith("agent:") and vendor is None:
                vendor = _r(label.removeprefix("agent:"))
            for link in by_sha.get(str(c.get("sha") or ""), []):
                links.setdefault(link, sessions[link]["key"])
        if not links:
            continue
        events = _event(rec, t)
        for link, key in links.items():
            session(link, key, _r(rec.get("repository") or "-"), vendor)["events"].extend(events)
    kept = []
    for s in sessions.values():
        s["events"].sort(key=lambda e: (e["time"], e["kind"] != "commit"))
        s["events"] = s["events"][:MAX_EVENTS]
        s["last"] = max(e["time"] for e in s["events"])
        kept.append(s)
    kept.sort(key=lambda s: (-s["last"], s["link"]))
    doc["sessions"] = [_redacted(s) for s in kept[:MAX_SESSIONS]]


def _records(records: Iterable[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    timed = [(parse_time(r.get("time")) or 0, r) for r in records]
    timed.sort(key=lambda tr: tr[0])  # stable: records of one second keep file order
    return timed


def empty() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "repositories": [],
        "days": {},
        "gating": {"kind": {}, "group": {}},
        "approvals": [],
        "break_glass": [],
        "protected_paths": [],
        "sessions": [],
        "verdicts": {},
        "audit_records": 0,
    }


def build(git: GitFacts | None, audit: list[dict[str, Any]], policy: Policy) -> dict[str, Any]:
    """The activity document of one repository (or of audit logs alone)."""
    doc = empty()
    groups = _Groups(policy)
    if git is not None:
        _commits(git, groups, protected_groups(policy), doc)
        doc["repositories"].append(
            {"name": git.repository, "range": _s(git.range), "commits": len(git.commits)}
        )
    records = _records(audit)
    doc["audit_records"] = len(records)
    for _, rec in records:
        v = rec.get("verdict")
        _add(doc["verdicts"], v if isinstance(v, str) and v in VERDICTS else "other")
    _gating(records, groups, doc)
    _break_glass(records, doc)
    _sessions(git, records, doc)
    return doc
