"""The activity report as one static, self-contained HTML page.

No script, no external resource: the Content-Security-Policy meta tag forbids every fetch
(`default-src 'none'`), charts are inline SVG (guard.activity.svg), styles inline. Every string
from the data is escaped with `guard.report.escape.html`; session and log links are shown as
text, never as live links (a report must not become a way to send readers somewhere).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from guard import __version__
from guard.activity import svg
from guard.autonomy import LEVELS
from guard.report.escape import html as esc

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
MAX_SESSIONS_SHOWN = 50
LATENCY_BINS = ((3600, "< 1 h"), (4 * 3600, "1-4 h"), (86400, "4-24 h"), (3 * 86400, "1-3 d"))
EVENT_KINDS = ("commit", "push", "pr", "check", "approval", "break-glass", "deploy")
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:820px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:12px}.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}
.kpi b{display:block;font-size:20px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;vertical-align:top}
td.n,th.n{text-align:right}code{font-size:12px;word-break:break-all}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .tt{font-size:13px;font-weight:600}
svg .grid{stroke:#e5e5e5}.empty{color:#888;font-style:italic}.session{margin:14px 0}
ol.events{margin:4px 0 0;padding-left:20px;font-size:12px}.k{display:inline-block;min-width:76px;color:#555}
"""


def when(ts: Any) -> str:
    if not isinstance(ts, int) or isinstance(ts, bool):
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    if not rows:
        return '<p class="empty">none</p>'
    num = numeric or set()
    th = "".join(f"<th{' class=n' if i in num else ''}>{esc(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in num else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _share_chart(title: str, s: dict[str, Any], measure: str, prefix: str, names: list[str]) -> str:
    labels = [b["bucket"] for b in s["buckets"]]
    series = []
    for name in names[:9]:
        vals = []
        for b in s["buckets"]:
            whole = b[measure].get("all", 0)
            vals.append(100.0 * b[measure].get(f"{prefix}{name}", 0) / whole if whole else 0.0)
        series.append((name, vals))
    return svg.stacked_bars(title, labels, series)


def _activity(s: dict[str, Any]) -> str:
    if not s["commits"]:
        return '<p class="empty">no commits in the range</p>'
    per = s["granularity"]
    vendors = list(s["vendors"])  # most commits first; levels in their fixed order (stable colours)
    levels = sorted(s["autonomy"], key=lambda lv: LEVELS.index(lv) if lv in LEVELS else len(LEVELS))
    charts = [
        _share_chart(f"Agent share of commits per {per}, by vendor (%)", s, "commits", "vendor:", vendors),
        _share_chart(
            f"Agent share of changed lines per {per}, by vendor (%)", s, "lines", "vendor:", vendors
        ),
        _share_chart(f"Agent share of commits per {per}, by autonomy (%)", s, "commits", "autonomy:", levels),
        _share_chart(
            f"Agent share of changed lines per {per}, by autonomy (%)", s, "lines", "autonomy:", levels
        ),
    ]
    rows = []
    for group, lines_key, label in (
        ("vendors", "vendor_lines", "vendor"),
        ("autonomy", "autonomy_lines", "level"),
    ):
        for name, n in s[group].items():
            lines = s[lines_key].get(name, 0)
            rows.append(
                [
                    esc(label),
                    esc(name),
                    str(n),
                    f"{100.0 * n / s['commits']:.1f}%",
                    str(lines),
                    f"{100.0 * lines / s['lines']:.1f}%" if s["lines"] else "-",
                ]
            )
    table = _table(["by", "name", "commits", "of all", "changed lines", "of all"], rows, {2, 3, 4, 5})
    return "".join(charts) + table


def _gating(doc: dict[str, Any]) -> str:
    out = []
    for key, title in (("kind", "Changes by rule kind"), ("group", "Changes by path group")):
        counts = doc["gating"][key]
        rows = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        data = [(name, [float(c.get("step-up", 0)), float(c.get("allowed", 0))]) for name, c in rows]
        out.append(svg.hbars(f"{title}: needed step-up vs allowed", data, ["step-up", "allowed"]))
    return "".join(out) if doc["gating"]["kind"] else '<p class="empty">no audit records given</p>'


def _latency(doc: dict[str, Any], s: dict[str, Any]) -> str:
    lat = s["approval_latency"]
    if not lat["count"]:
        return '<p class="empty">no step-up followed by a qualifying approval</p>'
    bins = [0] * (len(LATENCY_BINS) + 1)
    for a in doc["approvals"]:
        sec = int(a.get("seconds") or 0)
        i = next((n for n, (lim, _) in enumerate(LATENCY_BINS) if sec < lim), len(LATENCY_BINS))
        bins[i] += 1
    labels = [lb for _, lb in LATENCY_BINS] + ["> 3 d"]
    title = "Time from step-up to qualifying approval (changes)"
    chart = svg.columns(title, list(zip(labels, bins, strict=True)))
    figures = (
        f"<p>{lat['count']} approved changes; median {esc(duration(lat['median_seconds']))}, "
        f"90th percentile {esc(duration(lat['p90_seconds']))}, "
        f"longest {esc(duration(lat['max_seconds']))}.</p>"
    )
    return chart + figures


def _break_glass(doc: dict[str, Any]) -> str:
    rows = [
        [esc(when(b.get("time"))), esc(str(b.get("repository"))), esc(str(b.get("change"))),
         esc(str(b.get("who"))), esc(str(b.get("reason"))), esc(str(b.get("where")))]
        for b in sorted(doc["break_glass"], key=lambda b: int(b.get("time") or 0))
    ]  # fmt: skip
    return _table(["time (UTC)", "repository", "change", "who", "reason", "target"], rows)


def _paths(s: dict[str, Any]) -> str:
    rows = []
    for p in s["top_protected_paths"]:
        vendors = p.get("vendors") if isinstance(p.get("vendors"), dict) else {}
        agents = ", ".join(f"{k} {v}" for k, v in sorted(vendors.items(), key=lambda kv: -int(kv[1])))
        path, group, repo = (esc(str(p.get(k))) for k in ("path", "group", "repository"))
        rows.append([f"<code>{path}</code>", group, repo, str(int(p.get("commits") or 0)), esc(agents)])
    return _table(["path", "group", "repository", "agent commits", "agents"], rows, {3})


def _sessions(doc: dict[str, Any]) -> str:
    sessions = doc["sessions"][:MAX_SESSIONS_SHOWN]
    if not sessions:
        return '<p class="empty">no agent session links in commits or audit records</p>'
    legend = "".join(
        f'<span class="k"><svg width="10" height="10">'
        f'<circle cx="5" cy="5" r="5" fill="{svg.color(i)}"/></svg> {esc(k)}</span>'
        for i, k in enumerate(EVENT_KINDS)
    )
    out = [f"<p>{legend}</p>"]
    for s in sessions:
        events = [e for e in s.get("events", []) if isinstance(e, dict) and isinstance(e.get("time"), int)]
        if not events:
            continue
        t0, t1 = events[0]["time"], events[-1]["time"]
        line = svg.timeline([(e["time"], str(e.get("kind"))) for e in events], EVENT_KINDS, t0, t1)
        items = "".join(
            f'<li><span class="k">{esc(str(e.get("kind")))}</span>{esc(when(e["time"]))} '
            f"{esc(str(e.get('text')))}</li>"
            for e in events
        )
        head = (
            f"<b>{esc(str(s.get('vendor') or 'agent'))}</b> in {esc(str(s.get('repository')))} "
            f"({esc(str(s.get('key')))}): <code>{esc(str(s.get('link')))}</code>"
        )
        out.append(f'<div class="session">{head}<br>{line}<ol class="events">{items}</ol></div>')
    more = len(doc["sessions"]) - len(sessions)
    if more > 0:
        out.append(f'<p class="empty">{more} older sessions in the JSON output</p>')
    return "".join(out)


def render(doc: dict[str, Any], s: dict[str, Any]) -> str:
    repos = ", ".join(
        f"{r.get('name')} ({r.get('range')}, {r.get('commits')} commits)" for r in doc["repositories"]
    )
    gated = sum(c.get("step-up", 0) for c in doc["gating"]["kind"].values())
    kpis = [
        ("commits", str(s["commits"])),
        ("agent share of commits", f"{s['agent_commit_share']:.1f}%"),
        ("agent share of changed lines", f"{s['agent_line_share']:.1f}%"),
        ("audit records", str(doc["audit_records"])),
        ("changes that needed step-up", str(gated)),
        ("median time to approval", duration(s["approval_latency"]["median_seconds"])),
        ("break-glass uses", str(len(doc["break_glass"]))),
    ]
    kpi_html = "".join(f'<div class="kpi"><b>{esc(v)}</b>{esc(k)}</div>' for k, v in kpis)
    sections = [
        ("Agent share over time", _activity(s)),
        ("Step-up vs allowed", _gating(doc)),
        ("Time from step-up to approval", _latency(doc, s)),
        ("Break-glass uses", _break_glass(doc)),
        ("Top protected paths agents touched", _paths(s)),
        ("Agent sessions", _sessions(doc)),
    ]
    body = "".join(f"<h2>{esc(title)}</h2>{content}" for title, content in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>pipeline-guard activity report</title><style>{STYLE}</style></head><body>"
        "<h1>Agent activity report</h1>"
        f'<p class="meta">{esc(repos or "audit logs only")} · generated {esc(str(doc.get("generated", "")))} '
        f"by pipeline-guard {esc(__version__)}</p>"
        f'<div class="kpis">{kpi_html}</div>{body}</body></html>\n'
    )
