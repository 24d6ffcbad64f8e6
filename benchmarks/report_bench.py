"""Benchmark `pipeline-guard report` on 100,000 commits plus 10,000 audit records (not a timed test).

Builds a repository with `git fast-import` - a year of history where the agent share grows from
5% to 45% (Claude Code assisted and with sessions, Copilot's agent, aider, Cursor), people and
Dependabot; protected and ordinary paths - and a JSON-lines audit log in guard/audit.py's shape
(PR step-ups and their approvals, break-glass, deploys, session links). Then times, in this run:

- the baseline: bare `git log --numstat` of the same range (the git work the report cannot skip);
- the report: identification, audit aggregation, redaction, HTML and JSON rendering.

Prints both and their ratio; the issue's bar is under 10 s for the report.

    python benchmarks/report_bench.py [--commits 100000] [--records 10000] [--screenshot PNG]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from guard.activity.run import render_output, report_document  # noqa: E402
from guard.policy import builtin_policy  # noqa: E402

START = 1_767_225_600  # 2026-01-01T00:00:00Z
STEP = 300  # seconds between commits: 100k commits span about a year
PATHS = [f"src/mod{i}/file{j}.py" for i in range(40) for j in range(5)] + [
    "README.md",
    ".github/workflows/ci.yml",
    ".github/workflows/release.yml",
    ".claude/settings.json",
    "Dockerfile",
    "CODEOWNERS",
    "AGENTS.md",
    "deploy/prod.yaml",
]
HUMANS = [f"Dev {i} <dev{i}@example.com>" for i in range(60)]
COPILOT = "copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>"
DEPENDABOT = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"


def _agent(rnd: random.Random, i: int, human: str) -> tuple[str, str, str, str | None]:
    """(author, committer, message tail, session link) of one agent commit."""
    pick = rnd.random()
    if pick < 0.35:
        return human, human, "Co-Authored-By: Claude <noreply@anthropic.com>", None
    if pick < 0.6:
        link = f"https://claude.ai/code/session_{i // 40:06d}"
        return human, human, f"Claude-Session: {link}", link
    if pick < 0.8:
        link = f"https://github.com/acme/app/sessions/{i // 30:08x}-0000-0000-0000-000000000000"
        return COPILOT, COPILOT, f"Agent-Logs-Url: {link}", link
    if pick < 0.9:
        name = human.split(" <")[0]
        return f"{name} (aider) <{human.split('<')[1]}", human, "", None
    return human, human, "Made-with: Cursor", None


def build_repo(path: Path, n: int) -> list[tuple[int, str, str | None, bool]]:
    """Write the history; returns (time, sha-mark, session link, touched protected) per commit."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    rnd = random.Random(18)
    chunks: list[bytes] = []
    meta: list[tuple[int, str, str | None, bool]] = []
    for k in range(1, n + 1):
        when = START + k * STEP
        human = HUMANS[k % len(HUMANS)]
        share = 0.05 + 0.40 * k / n
        author, committer, tail, link = human, human, "", None
        if rnd.random() < share:
            author, committer, tail, link = _agent(rnd, k, human)
        elif rnd.random() < 0.03:
            author = committer = DEPENDABOT
        files = rnd.sample(PATHS, rnd.choice((1, 1, 2, 3)))
        msg = f"change {k}: adjust {files[0]}" + (f"\n\n{tail}" if tail else "")
        raw = msg.encode()
        body = b"".join(
            f"M 100644 inline {f}\ndata {len(c)}\n".encode() + c + b"\n"
            for f in files
            for c in ["".join(f"{k} {x}\n" for x in range(k % 7 + 1)).encode()]
        )
        chunks.append(
            f"commit refs/heads/main\nmark :{k}\nauthor {author} {when} +0000\n"
            f"committer {committer} {when} +0000\ndata {len(raw)}\n".encode()
            + raw
            + (f"\nfrom :{k - 1}\n" if k > 1 else "\n").encode()
            + body
            + b"\n"
        )
        meta.append((when, f":{k}", link, any(f.startswith((".github", ".claude")) for f in files)))
    marks = path / ".git" / "pg-marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        cwd=path,
        input=b"".join(chunks),
        check=True,
    )
    by_mark = dict(line.split() for line in marks.read_text().splitlines())
    return [(t, by_mark[m], link, prot) for t, m, link, prot in meta]


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def write_audit(path: Path, commits: list[tuple[int, str, str | None, bool]], n: int) -> None:
    rnd = random.Random(81)
    linked = [c for c in commits if c[2]]
    lines = []
    pr = 0
    while len(lines) < n:
        t, sha, link, prot = rnd.choice(linked)
        pr += 1
        base = {
            "tool": {"name": "pipeline-guard", "version": "bench"},
            "door": "github",
            "repository": "acme/app",
            "number": pr,
            "target_ref": "main",
            "environment": None,
            "ref_updates": [],
            "range": {"base": None, "head": sha},
            "commits": [{"sha": sha, "identity": "agent:claude-code", "autonomy": "autonomous"}],
            "sessions": [{"commit": sha, "key": "claude-session", "value": link}],
            "findings": [
                {
                    "rule": "agent-ci-config",
                    "kind": "path",
                    "action": "step-up",
                    "path": ".github/workflows/ci.yml",
                }
            ]
            if prot
            else [],
            "approvals": {"counted": [], "rejected": [], "break_glass": None},
        }
        if prot:
            lines.append({**base, "time": _iso(t + 600), "verdict": "step-up"})
            if rnd.random() < 0.05:
                bg = {"approver": f"oncall{pr % 5}", "kind": "break-glass", "reason": "incident: hotfix"}
                approvals = {"counted": [], "rejected": [], "break_glass": bg}
            else:
                approvals = {
                    "counted": [{"approver": f"lead{pr % 9}", "kind": "review"}],
                    "rejected": [],
                    "break_glass": None,
                }
            delay = int(rnd.expovariate(1 / 7200)) + 60
            lines.append({**base, "time": _iso(t + 600 + delay), "verdict": "allow", "approvals": approvals})
        else:
            lines.append({**base, "time": _iso(t + 600), "verdict": "allow"})
        if rnd.random() < 0.1:
            lines.append(
                {
                    **base,
                    "number": None,
                    "environment": "production",
                    "time": _iso(t + 9000),
                    "verdict": "allow",
                }
            )
    path.write_text("".join(json.dumps(rec) + "\n" for rec in lines[:n]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="build here and keep it (reused when it exists)")
    ap.add_argument("--screenshot", type=Path, help="also render the HTML in Chromium to this PNG")
    args = ap.parse_args()
    where = args.keep or Path(tempfile.mkdtemp(prefix="pg-report-bench-"))
    repo, log = where / "repo", where / "audit.jsonl"
    try:
        if not repo.exists():
            t0 = time.perf_counter()
            commits = build_repo(repo, args.commits)
            write_audit(log, commits, args.records)
            print(
                f"built {args.commits} commits + {args.records} audit records "
                f"in {time.perf_counter() - t0:.1f}s"
            )
        t0 = time.perf_counter()
        subprocess.run(
            ["git", "log", "--numstat", "--format=%H", "HEAD"],
            cwd=repo,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        baseline = time.perf_counter() - t0
        t0 = time.perf_counter()
        doc = report_document(str(repo), None, [str(log)], [], builtin_policy())
        html = render_output(doc, "html", False)
        data = render_output(doc, "json", False)
        elapsed = time.perf_counter() - t0
        (where / "report.html").write_text(html, encoding="utf-8")
        s = doc["summary"]
        print(f"baseline git log --numstat: {baseline:.2f}s")
        print(
            f"report: {s['commits']} commits + {doc['audit_records']} audit records in {elapsed:.2f}s "
            f"(HTML {len(html) // 1024} KiB, JSON {len(data) // 1024} KiB) = "
            f"{elapsed / baseline:.1f}x the baseline; "
            f"{'under' if elapsed < 10 else 'OVER'} the 10 s bar"
        )
        print(
            f"agent share {s['agent_commit_share']}% of commits, {s['agent_line_share']}% of lines; "
            f"{len(doc['sessions'])} sessions kept"
        )
        if args.screenshot:
            from chromium import render

            page = render(where / "report.html", args.screenshot, max_height=2600)
            print(f"screenshot {args.screenshot}: {page.svgs} charts, console {page.console or 'clean'}")
    finally:
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
