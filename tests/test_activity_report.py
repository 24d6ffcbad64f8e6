"""Issue 18: `pipeline-guard report`, the agent activity report (HTML, JSON, export and merge).

Real repositories with a known mix of human, agent (assisted, autonomous) and automation commits
at fixed dates, plus audit logs (one written by a real `check`, others appended with
guard.audit.append in the shape guard/audit.py writes); every aggregate is asserted exactly. The
HTML is opened in headless Chromium (required: .ci/run installs it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from chromium import render
from click.testing import CliRunner, Result
from gitutil import CLAUDE_TRAILER, COPILOT, DEPENDABOT, HUMAN, Repo

from guard import audit
from guard.cli import main

SECRET = "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8"
COPILOT_LOGS = "https://github.com/acme/widget/sessions/3f2a9c1e-1111-2222-3333-444455556666"
CLAUDE_SESSION = "https://claude.ai/code/session_01XYZabc"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def commit_at(repo: Repo, when: str, message: str, files: dict[str, str], author: tuple[str, str] = HUMAN,
              committer: tuple[str, str] | None = None) -> str:  # fmt: skip
    return repo.commit(message, files=dict(files), author=author, committer=committer, when=when)


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Repo, dict[str, str]]:
    """Six commits over three days; changed lines (added + deleted) in comments."""
    r = Repo(tmp_path / "widget")
    shas = {
        "human1": commit_at(r, "2026-03-01T09:00:00Z", "add a", {"a.txt": "1\n2\n3\n"}),  # 3
        "assisted": commit_at(  # claude-code, assisted: 2
            r, "2026-03-01T10:00:00Z", f"add parser\n\n{CLAUDE_TRAILER}", {"src/x.py": "a = 1\nb = 2\n"}
        ),
        "copilot": commit_at(  # copilot, autonomous, session link; touches CI: 1
            r,
            "2026-03-02T08:00:00Z",
            f"fix ci token {SECRET}\n\nAgent-Logs-Url: {COPILOT_LOGS}",
            {".github/workflows/ci.yml": "on: push\n"},
            author=COPILOT,
        ),
        "human2": commit_at(r, "2026-03-02T09:00:00Z", "tweak a", {"a.txt": "1\n2\nthree\n"}),  # 2
        "claude": commit_at(  # claude-code, autonomous (session trailer); agent config: 4
            r,
            "2026-03-03T08:00:00Z",
            f"<script>alert(1)</script> tune settings\n\nClaude-Session: {CLAUDE_SESSION}",
            {".claude/settings.json": '{\n  "a": 1,\n  "b": 2\n}\n'},
        ),
        "bot": commit_at(  # dependabot, automation: 1
            r, "2026-03-03T09:00:00Z", "Bump lib", {"requirements.txt": "lib==2\n"}, author=DEPENDABOT
        ),
    }
    return r, shas


def record(when: str, verdict: str, **kw: Any) -> dict[str, Any]:
    """An audit record in guard/audit.py's shape (fields a test does not set are empty)."""
    rec: dict[str, Any] = {
        "time": when,
        "tool": {"name": "pipeline-guard", "version": "test"},
        "door": "github",
        "repository": "acme/widget",
        "number": None,
        "source_ref": None,
        "target_ref": "main",
        "environment": None,
        "ref_updates": [],
        "range": {"base": None, "head": None},
        "run": {},
        "identity": {},
        "actors": [],
        "commits": [],
        "sessions": [],
        "findings": [],
        "approvals": {"counted": [], "rejected": [], "break_glass": None},
        "verdict": verdict,
        "mode": "enforce",
        "exit_code": 1 if verdict in ("step-up", "block") else 0,
        "policy": {"source": "builtin:default", "digest": "x"},
    }
    rec.update(kw)
    return rec


def audit_log(path: Path, shas: dict[str, str]) -> Path:
    ci = {"rule": "agent-ci-config", "kind": "path", "action": "step-up", "path": ".github/workflows/ci.yml"}
    env = {"rule": "secret-in-added-line", "kind": "secret", "action": "block", "path": "config/app.env"}
    copilot = {
        "commits": [{"sha": shas["copilot"], "identity": "agent:copilot", "autonomy": "autonomous"}],
        "sessions": [{"commit": shas["copilot"], "key": "agent-logs-url", "value": COPILOT_LOGS}],
    }
    bob = {
        "approver": "bob",
        "kind": "review",
        "head_sha": shas["copilot"],
        "identity": "human",
        "source": "x",
    }
    carol = {"approver": "carol", "kind": "break-glass", "head_sha": "", "identity": "human", "source": "x",
             "reason": f"prod down, token {SECRET}"}  # fmt: skip
    for rec in (
        record("2026-03-02T10:00:00Z", "step-up", number=7, findings=[ci], **copilot),
        record("2026-03-02T12:30:00Z", "allow", number=7, findings=[ci],
               approvals={"counted": [bob], "rejected": [], "break_glass": None}, **copilot),
        record("2026-03-02T13:00:00Z", "allow", number=8),
        record("2026-03-03T10:00:00Z", "block", number=9, findings=[env]),
        record("2026-03-03T11:00:00Z", "allow", number=9, findings=[env],
               approvals={"counted": [], "rejected": [], "break_glass": carol}),
        record("2026-03-03T12:00:00Z", "allow", environment="production",
               range={"base": None, "head": shas["claude"]},
               commits=[{"sha": shas["claude"], "identity": "agent:claude-code"}]),
    ):  # fmt: skip
        audit.append(path, rec)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["report", *args])


def json_report(*args: str) -> dict[str, Any]:
    r = run("--format", "json", *args)
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def test_aggregates_exactly(mixed: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, shas = mixed
    log = audit_log(tmp_path / "audit.jsonl", shas)
    doc = json_report("--repo", str(repo.path), "--audit-log", str(log))
    s = doc["summary"]
    assert (s["commits"], s["agent_commits"], s["lines"], s["agent_lines"]) == (6, 3, 13, 7)
    assert s["by_kind"] == {"human": 2, "agent": 3, "automation": 1}
    assert s["vendors"] == {"claude-code": 2, "copilot": 1}
    assert s["vendor_lines"] == {"claude-code": 6, "copilot": 1}
    assert s["autonomy"] == {"autonomous": 2, "assisted": 1}
    assert s["autonomy_lines"] == {"autonomous": 5, "assisted": 2}
    assert (s["agent_commit_share"], s["agent_line_share"]) == (50.0, 53.85)
    assert s["granularity"] == "day"
    assert [(b["bucket"], b["commits"]["all"], b["commits"].get("agent", 0)) for b in s["buckets"]] == [
        ("2026-03-01", 2, 1),
        ("2026-03-02", 2, 1),
        ("2026-03-03", 2, 1),
    ]
    assert doc["gating"] == {
        "kind": {"path": {"step-up": 1}, "none": {"allowed": 2}, "secret": {"step-up": 1}},
        "group": {"ci": {"step-up": 1}, "none": {"allowed": 2}, "other": {"step-up": 1}},
    }
    assert doc["verdicts"] == {"step-up": 1, "allow": 4, "block": 1}
    assert doc["approvals"] == [
        {"repository": "acme/widget", "change": "acme/widget#7", "seconds": 9000, "approver": "bob"}
    ]
    assert s["approval_latency"] == {
        "count": 1,
        "median_seconds": 9000,
        "p90_seconds": 9000,
        "max_seconds": 9000,
    }
    (bg,) = doc["break_glass"]
    assert (bg["who"], bg["change"], bg["where"]) == ("carol", "acme/widget#9", "main")
    assert bg["reason"].startswith("prod down, token «redacted:")
    assert [(p["path"], p["group"], p["commits"], p["vendors"]) for p in s["top_protected_paths"]] == [
        (".claude/settings.json", "agent-config", 1, {"claude-code": 1}),
        (".github/workflows/ci.yml", "ci", 1, {"copilot": 1}),
    ]
    claude, copilot = doc["sessions"]
    assert (claude["link"], claude["key"], claude["vendor"]) == (
        CLAUDE_SESSION,
        "claude-session",
        "claude-code",
    )
    assert [e["kind"] for e in claude["events"]] == ["commit", "deploy"]
    assert claude["events"][1]["text"] == "acme/widget: deploy to production: allow"
    assert (copilot["link"], copilot["vendor"]) == (COPILOT_LOGS, "copilot")
    assert [e["kind"] for e in copilot["events"]] == ["commit", "pr", "pr", "approval"]
    assert [e["text"] for e in copilot["events"][1:]] == [
        "acme/widget: PR/MR #7 into main: step-up",
        "acme/widget: PR/MR #7 into main: allow",
        "approved by bob",
    ]


def test_since_a_date_or_a_revision(mixed: tuple[Repo, dict[str, str]]) -> None:
    repo, shas = mixed
    assert json_report("--repo", str(repo.path), "--since", "2026-03-02")["summary"]["commits"] == 4
    doc = json_report("--repo", str(repo.path), "--since", shas["human2"])
    assert doc["summary"]["commits"] == 2 and doc["repositories"][0]["range"] == f"{shas['human2']}..HEAD"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-45"], "--since: '2026-13-45' is not a valid date"),
        (["--since", "no-such-tag"], "is neither a date (YYYY-MM-DD) nor a known revision"),
        (["--audit-log", "missing.jsonl"], "missing.jsonl: cannot read audit log"),
        (["--audit-log", "bad.jsonl"], "bad.jsonl: line 2 is not JSON"),
        (["--merge", "bad.jsonl"], "bad.jsonl: export is not JSON"),
        (["--merge", "other.json"], "not a pipeline-guard activity export"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    mixed: tuple[Repo, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    repo, _ = mixed
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"verdict": "allow"}\n{not json\n')
    (tmp_path / "other.json").write_text('{"schema": "something-else"}')
    r = run("--repo", str(repo.path), *args)
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("pipeline-guard: error: ") and message in line
    assert "Traceback" not in r.output


def test_no_secret_and_escaped_html(mixed: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, shas = mixed
    log = audit_log(tmp_path / "audit.jsonl", shas)
    outputs = {}
    for name, extra in (("html", []), ("json", ["--format", "json"]), ("export", ["--export", "json"])):
        out = tmp_path / f"report.{name}"
        r = run("--repo", str(repo.path), "--audit-log", str(log), "-o", str(out), *extra)
        assert r.exit_code == 0, r.output
        outputs[name] = out.read_text(encoding="utf-8")
    for text in outputs.values():
        assert SECRET not in text and SECRET[:12] not in text and "«redacted:" in text
    page = outputs["html"]
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; tune settings" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_export_and_merge_into_an_organisation_view(
    mixed: tuple[Repo, dict[str, str]], tmp_path: Path
) -> None:
    repo, shas = mixed
    other = Repo(tmp_path / "gadget")
    commit_at(other, "2026-03-05T09:00:00Z", "init", {"r.txt": "r\n"})
    commit_at(other, "2026-03-05T10:00:00Z", f"more\n\n{CLAUDE_TRAILER}", {"r.txt": "r\ns\n", "t.txt": "t\n"})
    a, b = tmp_path / "widget.json", tmp_path / "gadget.json"
    log = audit_log(tmp_path / "audit.jsonl", shas)
    assert (
        run("--repo", str(repo.path), "--audit-log", str(log), "--export", "json", "-o", str(a)).exit_code
        == 0
    )
    assert run("--repo", str(other.path), "--export", "json", "-o", str(b)).exit_code == 0
    doc = json_report("--merge", str(a), "--merge", str(b))
    s = doc["summary"]
    assert [r["name"] for r in doc["repositories"]] == ["widget", "gadget"]
    assert (s["commits"], s["agent_commits"], s["lines"], s["agent_lines"]) == (8, 4, 16, 9)
    assert s["vendors"] == {"claude-code": 3, "copilot": 1}
    assert s["autonomy"] == {"assisted": 2, "autonomous": 2}
    assert doc["gating"]["kind"]["path"] == {"step-up": 1} and len(doc["sessions"]) == 2
    assert doc["audit_records"] == 6 and len(doc["approvals"]) == 1
    html = tmp_path / "org.html"
    assert run("--merge", str(a), "--merge", str(b), "-o", str(html)).exit_code == 0
    assert "widget (HEAD, 6 commits), gadget (HEAD, 2 commits)" in html.read_text()


def test_reads_the_records_check_writes(repo: Repo, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    repo.commit("init", files={"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "fix")
    repo.commit(f"Fix ci\n\nAgent-Logs-Url: {COPILOT_LOGS}", files={".github/workflows/ci.yml": "on: push\n"},
                author=COPILOT)  # fmt: skip
    check = CliRunner().invoke(
        main, ["check", "--repo", str(repo.path), "--base", "main", "--audit-log", str(log)]
    )
    assert check.exit_code == 1
    doc = json_report("--repo", str(repo.path), "--audit-log", str(log))
    assert doc["gating"]["kind"] == {"path": {"step-up": 1}}
    assert doc["gating"]["group"] == {"ci": {"step-up": 1}}
    (session,) = doc["sessions"]
    assert session["link"] == COPILOT_LOGS
    assert [e["kind"] for e in session["events"]] == ["commit", "check"]
    assert session["events"][1]["text"].endswith(": step-up")


def test_html_renders_in_headless_chromium(mixed: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, shas = mixed
    log = audit_log(tmp_path / "audit.jsonl", shas)
    out = tmp_path / "report.html"
    r = run("--repo", str(repo.path), "--audit-log", str(log), "-o", str(out))
    assert r.exit_code == 0, r.output
    shot = Path(os.environ.get("PG_ARTIFACTS", str(ARTIFACTS))) / "activity-report.png"
    page = render(out, shot)
    print(f"screenshot: {shot}")
    assert page.console == []
    assert page.title == "pipeline-guard activity report"
    assert page.svgs == 7  # 4 share charts, 2 gating bars, 1 latency histogram
    assert "<script>alert(1)</script> tune settings" in page.text  # shown as text, not run
    assert shot.stat().st_size > 10_000


def test_help_teaches_and_progress_goes_to_stderr(mixed: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    r = run("--help")
    assert r.exit_code == 0
    for needle in ("--since DATE|REV", "--export json", "--merge", "Exit codes:", "report.html"):
        assert needle in r.stdout
    repo, _ = mixed
    out = tmp_path / "r.json"
    r = run("--repo", str(repo.path), "--format", "json", "--progress", "-o", str(out))
    assert r.exit_code == 0 and "read 6 commits" in r.stderr and f"wrote {out}" in r.stderr
    assert json.loads(out.read_text())["summary"]["commits"] == 6


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"days": {"yesterday": {"commits": {"all": 1}}}}, "days: 'yesterday' is not a YYYY-MM-DD date"),
        ({"days": {"2026-03-01": 5}}, "days.2026-03-01: expected commits and lines counters"),
        ({"days": {"2026-03-01": {"commits": {"all": "many"}}}}, "all: expected a count"),
        ({"gating": {"kind": {"path": 3}, "group": {}}}, "gating.kind: expected step-up/allowed counters"),
        ({"approvals": [{"seconds": "soon"}]}, "approvals[0].seconds: expected int"),
        ({"sessions": [{"events": ["x"]}]}, "sessions[0].events: expected a list of objects"),
        ({"sessions": [{"events": [{"time": "noon"}]}]}, "sessions[0].events[0].time: expected int"),
        ({"protected_paths": [{"vendors": {"x": "y"}}]}, "protected_paths[0].vendors: expected counts"),
        ({"break_glass": "everyone"}, "break_glass: expected a list of objects"),
    ],
)
def test_a_hostile_export_is_a_usage_error(tmp_path: Path, patch: dict[str, Any], message: str) -> None:
    base = tmp_path / "base.json"
    repo = Repo(tmp_path / "r")
    commit_at(repo, "2026-03-01T09:00:00Z", "init", {"a": "a\n"})
    assert run("--repo", str(repo.path), "--export", "json", "-o", str(base)).exit_code == 0
    doc = {**json.loads(base.read_text()), **patch}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    r = run("--merge", str(bad), "-o", str(tmp_path / "x.html"))
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"pipeline-guard: error: {bad}: ") and message in line
