"""JSON export, merge of several exports (the organisation view) and the derived summary.

An export is the aggregate document (guard.activity.aggregate, schema `pipeline-guard.activity/1`)
of one repository. `merge` adds counters and concatenates samples, so one CI matrix job per
repository can export and a last job can merge. An export is untrusted input: it is validated
(schema, shapes) and redacted again before anything of it is shown.

`summary` derives what the report shows: agent shares overall and per time bucket (day, week or
month by the span), gated/allowed per rule kind and path group, approval latency percentiles,
the top protected paths.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from guard.activity.aggregate import MAX_PATHS, MAX_SESSIONS, SCHEMA, empty
from guard.errors import UsageError
from guard.redact import redact_data

TOP_PATHS = 20
_LISTS = ("repositories", "approvals", "break_glass", "protected_paths", "sessions")


def _add_counts(into: dict[str, Any], other: Any, where: str) -> None:
    if not isinstance(other, dict):
        raise UsageError("expected an object of counters", where=where)
    for k, v in other.items():
        if isinstance(v, dict):
            sub = into.setdefault(str(k), {})
            if not isinstance(sub, dict):
                raise UsageError(f"{k}: mixes counters and objects", where=where)
            _add_counts(sub, v, f"{where}.{k}")
        elif isinstance(v, int) and not isinstance(v, bool):
            into[str(k)] = int(into.get(str(k), 0)) + v
        else:
            raise UsageError(f"{k}: expected a count", where=where)


def merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    out = empty()
    for i, doc in enumerate(docs):
        where = f"export {i + 1}"
        for key in ("days", "gating", "verdicts"):
            _add_counts(out[key], doc.get(key, {}), f"{where}: {key}")
        for key in _LISTS:
            items = doc.get(key, [])
            if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
                raise UsageError(f"{key}: expected a list of objects", where=where)
            out[key].extend(items)
        n = doc.get("audit_records", 0)
        out["audit_records"] += n if isinstance(n, int) else 0
    out["protected_paths"].sort(key=lambda p: (-int(p.get("commits") or 0), str(p.get("path"))))
    out["protected_paths"] = out["protected_paths"][: MAX_PATHS * 4]
    out["sessions"].sort(key=lambda s: -int(s.get("last") or 0))
    out["sessions"] = out["sessions"][: MAX_SESSIONS * 4]
    return out


# Per list: field -> accepted types (None is accepted for every field a record may leave out).
_S, _N, _D, _L = (str,), (int,), (dict,), (list,)
_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "repositories": {"name": _S, "range": _S, "commits": _N},
    "approvals": {"repository": _S, "change": _S, "seconds": _N, "approver": _S},
    "break_glass": {"time": _N, "repository": _S, "change": _S, "who": _S, "reason": _S, "where": _S},
    "protected_paths": {"repository": _S, "path": _S, "group": _S, "commits": _N, "vendors": _D},
    "sessions": {"link": _S, "key": _S, "repository": _S, "vendor": _S, "events": _L, "last": _N},
}
_EVENT: dict[str, tuple[type, ...]] = {"time": _N, "kind": _S, "text": _S, "verdict": _S}


def _check_items(items: list[Any], fields: dict[str, tuple[type, ...]], where: str) -> None:
    for n, item in enumerate(items):
        for key, types in fields.items():
            v = item.get(key)
            if v is not None and (not isinstance(v, types) or isinstance(v, bool)):
                raise UsageError(f"{where}[{n}].{key}: expected {types[0].__name__}")


def check_shapes(doc: dict[str, Any]) -> None:
    """The fields the report reads have the types it expects (UsageError naming the first bad one)."""
    for day, counts in doc.get("days", {}).items():
        try:
            date.fromisoformat(str(day))
        except ValueError:
            raise UsageError(f"days: {str(day)[:20]!r} is not a YYYY-MM-DD date") from None
        if not isinstance(counts, dict) or not all(isinstance(v, dict) for v in counts.values()):
            raise UsageError(f"days.{day}: expected commits and lines counters")
    gating = doc.get("gating", {})
    for key in ("kind", "group"):
        table = gating.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise UsageError(f"gating.{key}: expected step-up/allowed counters per name")
    for key, fields in _FIELDS.items():
        _check_items(doc.get(key, []), fields, key)
    for n, s in enumerate(doc.get("sessions", [])):
        events = s.get("events") or []
        if not all(isinstance(e, dict) for e in events):
            raise UsageError(f"sessions[{n}].events: expected a list of objects")
        _check_items(events, _EVENT, f"sessions[{n}].events")
    for n, p in enumerate(doc.get("protected_paths", [])):
        vendors = p.get("vendors") or {}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in vendors.values()):
            raise UsageError(f"protected_paths[{n}].vendors: expected counts")


def load_export(path: str) -> dict[str, Any]:
    """One export file, checked and redacted (a one-line UsageError when it is not one)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read export: {e.strerror}", where=path) from None
    except UnicodeDecodeError:
        raise UsageError("export is not UTF-8 text", where=path) from None
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise UsageError(f"export is not JSON (line {getattr(e, 'lineno', '?')})", where=path) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise UsageError(f"not a pipeline-guard activity export (schema {SCHEMA} expected)", where=path)
    try:
        merge([doc])  # shape check, with the file named in the error
        check_shapes(doc)
    except UsageError as e:
        raise UsageError(str(e), where=path) from None
    clean: dict[str, Any] = redact_data(doc)
    return clean


def export_text(doc: dict[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "summary"}
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------- summary


def _granularity(days: list[str]) -> str:
    if not days:
        return "day"
    span = (date.fromisoformat(days[-1]) - date.fromisoformat(days[0])).days
    return "day" if span <= 62 else "week" if span <= 730 else "month"


def bucket_of(day: str, granularity: str) -> str:
    d = date.fromisoformat(day)
    if granularity == "week":
        return (d - timedelta(days=d.weekday())).isoformat()
    if granularity == "month":
        return d.strftime("%Y-%m")
    return day


def _share(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def percentile(values: list[int], q: float) -> int:
    """Nearest-rank percentile (q in 0..100) of non-empty `values`."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _series_names(totals: dict[str, int], prefix: str) -> list[str]:
    names = [k for k in totals if k.startswith(prefix)]
    return sorted(names, key=lambda k: (-totals[k], k))


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    days = sorted(doc["days"])
    gran = _granularity(days)
    buckets: dict[str, dict[str, dict[str, int]]] = {}
    totals: dict[str, dict[str, int]] = {"commits": {}, "lines": {}}
    for day in days:
        b = buckets.setdefault(bucket_of(day, gran), {"commits": {}, "lines": {}})
        for measure in ("commits", "lines"):
            for k, v in doc["days"][day].get(measure, {}).items():
                b[measure][k] = b[measure].get(k, 0) + v
                totals[measure][k] = totals[measure].get(k, 0) + v
    tc, tl = totals["commits"], totals["lines"]
    lat = [int(a["seconds"]) for a in doc["approvals"] if isinstance(a.get("seconds"), int)]
    return {
        "granularity": gran,
        "commits": tc.get("all", 0),
        "lines": tl.get("all", 0),
        "agent_commits": tc.get("agent", 0),
        "agent_lines": tl.get("agent", 0),
        "agent_commit_share": _share(tc.get("agent", 0), tc.get("all", 0)),
        "agent_line_share": _share(tl.get("agent", 0), tl.get("all", 0)),
        "by_kind": {k.removeprefix("kind:"): tc[k] for k in _series_names(tc, "kind:")},
        "vendors": {k.removeprefix("vendor:"): tc[k] for k in _series_names(tc, "vendor:")},
        "vendor_lines": {k.removeprefix("vendor:"): tl.get(k, 0) for k in _series_names(tc, "vendor:")},
        "autonomy": {k.removeprefix("autonomy:"): tc[k] for k in _series_names(tc, "autonomy:")},
        "autonomy_lines": {k.removeprefix("autonomy:"): tl.get(k, 0) for k in _series_names(tc, "autonomy:")},
        "buckets": [{"bucket": b, **buckets[b]} for b in sorted(buckets)],
        "approval_latency": {
            "count": len(lat),
            "median_seconds": percentile(lat, 50) if lat else None,
            "p90_seconds": percentile(lat, 90) if lat else None,
            "max_seconds": max(lat) if lat else None,
        },
        "top_protected_paths": doc["protected_paths"][:TOP_PATHS],
    }


def with_summary(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out["summary"] = summary(doc)
    out["generated"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
