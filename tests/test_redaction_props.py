"""Property test (issue 14.6): a secret planted in any field of commit and ref metadata appears in no
output of any command, in no format, in no log line and in no audit record, even for a push the
server rejects.

Each example plants a *different* fake token in every field at once (author and committer name and
email, subject, body, the values of agent trailers, the branch name, the tag name, the tag
message, a file name and a file's content), so no field is hidden by another field's secret being
found. The tokens have the formats the detectors catch (GitHub PAT, AWS access key id, Slack bot
token, GitLab PAT, Stripe live key) and are built at run time, so this file holds none of them.
Checked: the token, and every 12-character slice of it, in any case, is in no stdout, stderr,
report file or audit record of `check` and `explain` (every format), `identify` (text and json)
and a real `git push` through the pre-receive hook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cliutil import cli
from gitutil import Repo, git
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from guard.redact import mask, redact_data, redact_text
from guard.secrets.engine import scan_text

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "pre-receive"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
FORMATS = ("json", "sarif", "markdown", "codequality")
SLICE = 12
HOST_VARS = ("GL_ID", "GL_USERNAME", "GL_PROTOCOL", "GITHUB_USER_LOGIN", "GITEA_PUSHER_NAME")


def _chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


# Prefixes split in two: the repository's own scanners must not flag this file.
TOKENS = st.one_of(
    _chars(ALNUM, 36).map(lambda s: "gh" + "p_" + s),
    _chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16).map(lambda s: "AK" + "IA" + s),
    st.tuples(_chars("0123456789", 12), _chars("0123456789", 13), _chars(ALNUM, 24)).map(
        lambda t: "xo" + "xb-" + "-".join(t)
    ),
    _chars(ALNUM, 20).map(lambda s: "gl" + "pat-" + s),
    _chars(ALNUM, 24).map(lambda s: "sk" + "_live_" + s),
)
FIELDS = (
    "author_name", "author_email", "committer_name", "committer_email", "subject", "body",
    "co_author_name", "co_author_email", "claude_session", "generated_by", "agent_logs",
    "branch", "tag", "tag_message", "file_name", "file_content",
)  # fmt: skip


def _detected(token: str) -> bool:
    return any(h.value == token for h in scan_text("", f"x {token} y"))


@st.composite
def planted(draw: st.DrawFn) -> dict[str, str]:
    tokens = draw(st.lists(TOKENS, min_size=len(FIELDS), max_size=len(FIELDS), unique=True))
    for t in tokens:
        assume(_detected(t))  # a placeholder-looking draw ("...fake...") is not a secret
    return dict(zip(FIELDS, tokens, strict=True))


def _leaks(secrets: dict[str, str], text: str) -> list[str]:
    """Fields whose token, or a 12-character slice of it, is in `text` (any case, escapes removed)."""
    low = text.lower()
    forms = (low, low.replace("\\", ""))
    out = []
    for name, token in secrets.items():
        t = token.lower()
        if any(t[i : i + SLICE] in f for i in range(len(t) - SLICE + 1) for f in forms):
            out.append(name)
    return out


def _build(work: Repo, s: dict[str, str]) -> None:
    work.commit("initial", files={"README.md": "hello\n"})
    work.git("checkout", "-q", "-b", f"feature/{s['branch']}")
    message = (
        f"Fix the thing {s['subject']}\n\n"
        f"Longer story: we used {s['body']} while debugging.\n\n"
        f"Co-authored-by: Helper {s['co_author_name']} <{s['co_author_email']}@example.org>\n"
        f"Claude-Session: https://claude.ai/code/session_{s['claude_session']}\n"
        f"Generated-by: Claude Code {s['generated_by']}\n"
        f"Agent-Logs-Url: https://github.com/acme/widget/agents/{s['agent_logs']}\n"
    )
    work.commit(
        message,
        files={
            f"notes/{s['file_name']}.txt": "notes\n",
            "src/config.py": f'TOKEN = "{s["file_content"]}"\n',
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: make test\n",
        },
        author=(f"Dev {s['author_name']}", f"{s['author_email']}@example.com"),
        committer=(f"Ops {s['committer_name']}", f"{s['committer_email']}@example.com"),
    )
    work.git("tag", "-a", f"v1.0-{s['tag']}", "-m", f"Release 1.0\n\nbuilt with {s['tag_message']}")


def _cli(*args: str) -> tuple[int, str]:
    result = cli(list(args))
    return result.exit_code, result.stdout + "\n" + result.stderr


def _server(path: Path) -> Path:
    git(path.parent, "init", "-q", "--bare", "-b", "main", str(path))
    hook = TEMPLATE.read_text().replace("/opt/pipeline-guard/venv/bin/python", sys.executable)
    (path / "hooks" / "pre-receive").write_text(hook)
    (path / "hooks" / "pre-receive").chmod(0o755)
    audit = path.parent / "server-audit.jsonl"
    (path.parent / "policy.yml").write_text(f"server:\n  audit_log: {audit}\n")
    git(path, "config", "pipeline-guard.policy", str(path.parent / "policy.yml"))
    return audit


def _push(work: Repo, url: Path, *refspecs: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in HOST_VARS}
    args = ["git", "push", "--porcelain", str(url), *refspecs]
    proc = subprocess.run(args, cwd=work.path, env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


# No shrinking: each example runs real git and the whole CLI; the failing example is printed as drawn.
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(planted())
def test_a_planted_secret_is_in_no_output_no_log_no_audit_record(s: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        work = Repo(d / "work")
        _build(work, s)
        branch = f"feature/{s['branch']}"
        repo = str(work.path)
        seen: dict[str, str] = {}
        files = [f"--report-file={fmt}={d / ('report.' + fmt)}" for fmt in FORMATS]
        audit = d / "audit.jsonl"
        common = ["--repo", repo, "--base", "main", "--head", branch, f"--audit-log={audit}"]
        code, seen["check"] = _cli("check", *common, "-o", str(d / "report.text"), *files)
        assert code == 1, seen["check"]  # blocked: secrets in the file, the message, the names
        for fmt in ("text", "json", "markdown"):
            code, seen[f"explain {fmt}"] = _cli("explain", *common, "--format", fmt)
            assert code == 1, seen[f"explain {fmt}"]
        report = json.loads((d / "report.json").read_text())
        assert report["decision"] == "block"
        where = {f["message"].split(" in an ", 1)[-1].split(",")[0] for f in report["findings"]
                 if f["rule"] == "secret-in-added-line"}  # fmt: skip
        assert {"added line", "commit message", "file name"} <= where, where
        for fmt in ("text", "json"):
            rng = f"main..{branch}"
            code, seen[f"identify {fmt}"] = _cli("identify", "--repo", repo, "--format", fmt, rng)
            assert code == 0, seen[f"identify {fmt}"]
        assert "agent" in seen["identify text"]
        for p in d.glob("report.*"):
            seen[p.name] = p.read_text()
        seen["audit"] = audit.read_text()
        assert len(seen["audit"].splitlines()) == 4

        server = d / "server.git"
        server_audit = _server(server)
        code, seen["push main"] = _push(work, server, "main")
        assert code == 0, seen["push main"]
        code, out = _push(work, server, branch, f"v1.0-{s['tag']}")
        assert code != 0 and "push rejected" in out, out
        # What the hook wrote (git's own lines name the refs the pusher typed, in the pusher's terminal).
        seen["push"] = "\n".join(ln for ln in out.splitlines() if ln.startswith("remote:"))
        seen["server audit"] = server_audit.read_text()
        assert len(seen["server audit"].splitlines()) == 3  # main, then the branch and the tag
        for where, text in seen.items():
            assert not _leaks(s, text), f"{_leaks(s, text)} leaked in {where}:\n{text}"
        assert "«redacted:" in seen["explain text"] and "«redacted:" in seen["push"]
        assert "possible" in seen["push"]  # guard's own words are not taken for secrets


# ----- the redaction path itself -----


def _token() -> str:
    return "gh" + "p_" + "Zq8vT2mXw9LkR4yB7nC1dF6hJ3sG5aPe0uQi"


def test_mask_names_the_detector_and_nothing_of_the_value() -> None:
    t = _token()
    assert redact_text(f"subject {t} end") == f"subject {mask('github-token')} end"
    assert mask("github-token") == "«redacted:github-token»"
    assert not set(mask("github-token")) & set('"\\<>&`|*_[]()#')


def test_a_value_found_once_is_masked_everywhere_in_the_model_any_case_and_cut_short() -> None:
    t = _token()
    data = {"message": f"uses {t}", "evidence": [t.lower(), f"subject cut at {t[:20]}", f"{t[-15:]} tail"]}
    out = redact_data(data)
    assert out["message"] == f"uses {mask('github-token')}"
    assert out["evidence"] == [
        mask("github-token"),
        f"subject cut at {mask('github-token')}",
        f"{mask('github-token')} tail",
    ]
    assert data["message"] == f"uses {t}"  # the input is not changed


def test_commit_ids_and_clean_text_are_left_as_they_are() -> None:
    data = {"sha": "a1b2c3" * 6 + "d4e5", "note": "nothing here", "n": 3}
    assert redact_data(data) is data
    assert redact_text("plain words") == "plain words"


# ----- the GitHub door: annotations, step outputs and summary -----


def test_github_door_shows_no_secret_from_the_pr_the_commits_or_the_branch(tmp_path: Path) -> None:
    from standins.github import actions_env, pr_repos, pull_request_event, read_outputs

    t = {
        "subject": _token(),
        "session": "AK" + "IA" + "QX7RTZ4M2KWP6YHD",
        "author": "gl" + "pat-" + "Wq4rT7uYi9oP2aSdF5gH",
        "branch": "sk" + "_live_" + "Pq9Wz3Xc7Vb2Nm5Lk8Jh4Gf6",
        "title": "xo" + "xb-" + "482915730264-1937462850193-" + "Hq3Jw8Kz5Lm2Nx7Pv4Rt9Ys6",
        "body": "gh" + "p_" + "Lk2Jh5Gf8Ds1Aq4Wz7Xc0Vb3Nm6Py9Rt2Ey5U",
    }
    message = f"tweak ci {t['subject']}\n\nClaude-Session: https://claude.ai/code/{t['session']}\n"
    files = {".github/workflows/guard.yml": "on: push\n# more\n"}
    _, ws, base, head = pr_repos(tmp_path, message, files, author=(f"Dev {t['author']}", "dev@example.com"))
    payload = pull_request_event(head=head, base=base, head_ref=f"fix/{t['branch']}")
    payload["pull_request"].update(title=f"Fix {t['title']}", body=f"Uses {t['body']}\n\nGenerated by Codex")
    run = tmp_path / "run"
    result = cli(
        ["explain", "--format", "markdown"],
        env={"GITHUB_TOKEN": "", **actions_env(run, "pull_request", payload, ws)},
    )
    assert result.exit_code == 1, result.stderr
    assert read_outputs(run / "output")["decision"] == "block"
    texts = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "outputs": (run / "output").read_text(),
        "summary": (run / "summary").read_text(),
    }
    for where, text in texts.items():
        assert not _leaks(t, text), f"{_leaks(t, text)} leaked in {where}:\n{text}"
    assert "::error" in texts["stdout"] and "«redacted" in texts["summary"]  # `:` escaped in Markdown
