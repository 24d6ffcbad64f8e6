"""Issue 14 part 7: a blob git calls binary is not a hiding place for a credential.

Real repositories and the real CLI (local door) plus one real push through the pre-receive hook;
each attack is one way git is made to say "Binary files differ", and the verdict is exact.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo

from guard import budget
from guard.engine import evaluate
from guard.git.repo import GitRepo
from guard.model import Decision
from guard.policy import builtin_policy
from guard.secrets.binary import OVERLAP, scan_chunks, scan_runs

AGENT = f"assets\n\n{CLAUDE_TRAILER}"
# Built at run time: the repository's own scanners must not see a literal token here.
TOKEN = "ghp_" + "Xy7Wv6Ut5Sr4Qp3On2Ml1Kj0Ih9Gf8Ed7Cb6"
AWS = "AKIA" + "Z7Q4XN2LBWRT5JKM"


def noise(n: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.choice((0, 1, 2, 3, 4, 5, 6, 7, 0xFF, 0x80)) for _ in range(n))


def check(repo: Repo, *args: str) -> tuple[int, dict[str, Any], str]:
    """(exit code, JSON report, text and JSON output together); both formats exit alike."""
    cmd = ["check", "--repo", str(repo.path), "--base", "main", *args]
    r = cli([*cmd, "--format", "json"])
    t = cli([*cmd, "--format", "text"])
    assert t.exit_code == r.exit_code
    return r.exit_code, json.loads(r.stdout), r.stdout + r.stderr + t.stdout + t.stderr


def secrets_in(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["category"], f["path"], f["action"]) for f in data["findings"] if f["kind"] == "secret"]


def agent_branch(repo: Repo) -> Repo:
    repo.git("checkout", "-q", "-b", "work")
    return repo


def test_a_token_among_many_control_bytes_is_found(repo: Repo) -> None:
    agent_branch(repo).commit(
        AGENT, files={"blob.dat": noise(4000) + f"\0token={TOKEN}\0".encode() + noise(4000, 8)}
    )
    code, data, out = check(repo)
    assert code == 1 and data["decision"] == "block"
    assert ("github-token", "blob.dat", "block") in secrets_in(data)
    assert TOKEN not in out


def test_a_token_in_a_three_megabyte_binary_is_found(repo: Repo) -> None:
    body = noise(1_500_000) + f"aws_access_key_id = {AWS}\n".encode() + noise(1_500_000, 9)
    agent_branch(repo).commit(AGENT, files={"firmware.bin": body})
    code, data, out = check(repo)
    assert code == 1 and ("aws-access-key", "firmware.bin", "block") in [
        (c.replace("aws-access-key-id", "aws-access-key"), p, a) for c, p, a in secrets_in(data)
    ], secrets_in(data)
    assert AWS not in out


def test_a_file_the_change_marks_binary_in_gitattributes_is_still_read(repo: Repo) -> None:
    agent_branch(repo).commit(
        AGENT, files={".gitattributes": "*.cfg binary\n", "app.cfg": f"[auth]\ntoken = {TOKEN}\n"}
    )
    code, data, out = check(repo)
    assert code == 1 and ("github-token", "app.cfg", "block") in secrets_in(data)
    line = next(f["line"] for f in data["findings"] if f["path"] == "app.cfg")
    assert line == 2 and TOKEN not in out


def test_a_utf16_blob_is_read(repo: Repo) -> None:
    agent_branch(repo).commit(
        AGENT, files={"settings.reg": ("\ufeff" + f"token={TOKEN}\r\n").encode("utf-16-le")}
    )
    code, data, out = check(repo)
    assert code == 1 and ("github-token", "settings.reg", "block") in secrets_in(data)
    assert TOKEN not in out


def test_a_token_across_a_chunk_boundary_is_whole_in_one_chunk() -> None:
    blob = noise(1 << 16) + f"\0{TOKEN}\0".encode() + noise(1 << 16, 3)
    cut = (1 << 16) + 1 + len(TOKEN) // 2  # through the middle of the token
    for size in (cut, OVERLAP, 4096):
        chunks = [blob[:cut]] + [blob[i : i + size] for i in range(cut, len(blob), size)]
        hits = scan_chunks("x.bin", chunks, 20_000)
        assert [h.detector for h in hits] == ["github-token"], size


def test_a_token_across_git_s_stream_chunk_is_found(repo: Repo) -> None:
    """Real git, real stream: the token straddles the first 1 MB chunk stream_blob reads."""
    body = noise((1 << 20) - 20) + f"\0{TOKEN}\0".encode() + noise(1000, 2)
    agent_branch(repo).commit(AGENT, files={"pack.bin": body})
    code, data, out = check(repo)
    assert code == 1 and ("github-token", "pack.bin", "block") in secrets_in(data)
    assert TOKEN not in out


def test_an_old_token_already_in_the_binary_is_not_new(repo: Repo) -> None:
    base = noise(3000) + f"\0{TOKEN}\0".encode()
    repo.commit("blob", files={"blob.dat": base})
    agent_branch(repo).commit(AGENT, files={"blob.dat": base + noise(100, 4)})
    code, data, _ = check(repo)
    assert secrets_in(data) == [] and code == 0


def test_a_blob_over_the_cap_is_a_step_up_not_a_pass(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": "secrets: {max_binary_bytes: 10000}\n"})
    agent_branch(repo).commit(AGENT, files={"big.bin": noise(20_000)})
    code, data, _ = check(repo)
    assert code == 1 and data["decision"] == "step-up"
    (f,) = [f for f in data["findings"] if f["category"] == "scan-incomplete"]
    assert f["rule"] == "secret-in-added-line" and f["action"] == "step-up" and f["path"] == "big.bin"
    assert "over secrets.max_binary_bytes (10000)" in f["message"]


def test_an_ordinary_binary_is_quiet(repo: Repo) -> None:
    agent_branch(repo).commit(AGENT, files={"logo.png": b"\x89PNG\r\n\x1a\n" + noise(50_000)})
    code, data, _ = check(repo)
    assert code == 0 and secrets_in(data) == []


def _hooked(tmp_path: Path) -> tuple[Repo, Callable[[], subprocess.CompletedProcess[str]]]:
    """A work repository and a push of its main to a bare server running the pre-receive hook."""
    server = tmp_path / "srv.git"
    subprocess.run(["git", "init", "-q", "--bare", str(server)], check=True)
    hook = server / "hooks/pre-receive"
    hook.write_text(f"#!/bin/sh\nexec {sys.executable} -m guard.cli pre-receive\n")
    hook.chmod(0o755)
    work = Repo(tmp_path / "w")
    work.commit("initial", files={"README.md": "x\n"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def push() -> subprocess.CompletedProcess[str]:
        cmd = ["git", "push", str(server), "main"]
        return subprocess.run(cmd, cwd=work.path, env=env, capture_output=True, text=True)

    assert push().returncode == 0
    return work, push


def test_prereceive_rejects_a_token_in_a_binary_blob(tmp_path: Path) -> None:
    work, push = _hooked(tmp_path)
    work.commit(AGENT, files={"blob.dat": noise(2000) + f"\0{TOKEN}\0".encode()})
    r = push()
    assert r.returncode != 0 and "BLOCKED" in r.stderr and "blob.dat" in r.stderr and TOKEN not in r.stderr


# ----- git calls it text, but the token is UTF-16: the text scan sees "t\0o\0k\0..." -----


def test_a_gitattributes_line_forcing_text_does_not_hide_a_utf16_token(repo: Repo) -> None:
    body = ("\ufeff" + f"token={TOKEN}\r\n").encode("utf-16-le")
    agent_branch(repo).commit(AGENT, files={".gitattributes": "*.reg diff\n", "forced.reg": body})
    code, data, out = check(repo)
    assert code == 1 and data["decision"] == "block"
    assert ("github-token", "forced.reg", "block") in secrets_in(data)
    assert TOKEN not in out


def test_utf16_after_the_first_8000_bytes_is_read(repo: Repo) -> None:
    """git looks for a NUL in the first 8000 bytes only: past them a UTF-16 token is 'text'."""
    body = b"A" * 9000 + b"\n" + f"token={TOKEN}\n".encode("utf-16-le")
    agent_branch(repo).commit(AGENT, files={"late.dat": body})
    code, data, out = check(repo)
    assert code == 1 and ("github-token", "late.dat", "block") in secrets_in(data)
    assert TOKEN not in out


def test_utf16_past_the_texty_sample_of_a_stray_nul_file_is_read(repo: Repo) -> None:
    """One NUL makes it binary, the first 64 KB look like text: the UTF-16 tail is scanned too."""
    body = b"x\0\n" + b"plain line of text\n" * 5000 + f"token={TOKEN}\n".encode("utf-16-le")
    agent_branch(repo).commit(AGENT, files={"notes.txt": body})
    code, data, out = check(repo)
    assert code == 1 and ("github-token", "notes.txt", "block") in secrets_in(data)
    assert TOKEN not in out


def test_a_modified_text_file_with_an_added_utf16_token(repo: Repo) -> None:
    repo.commit("data", files={"late.dat": b"B" * 9000 + b"\n"})
    agent_branch(repo).commit(
        AGENT, files={"late.dat": b"B" * 9000 + b"\n" + f"{TOKEN}\n".encode("utf-16-le")}
    )
    code, data, _ = check(repo)
    assert code == 1 and ("github-token", "late.dat", "block") in secrets_in(data)


# ----- the time budget: a blob the budget cannot cover is a finding -----


def _evaluate_under(repo: Repo, deadline: budget.Deadline) -> Decision:
    change = GitRepo(repo.path).build_change("main", "HEAD")
    return evaluate(change, builtin_policy(), "enforce", deadline=deadline)


def test_a_binary_the_time_budget_cannot_cover_is_scan_incomplete(repo: Repo) -> None:
    agent_branch(repo).commit(AGENT, files={"big.bin": noise(3000) + f"\0{TOKEN}\0".encode()})
    # 100 s left of 1000: under the share binary scans must leave for the rest of the judgement
    late = budget.Deadline(1000, start=time.monotonic() - 900)
    decision = _evaluate_under(repo, late)
    assert decision.verdict == "step-up" and decision.exit_code == 1 and not late.fired
    (f,) = [f for f in decision.findings if f.kind == "secret"]
    got = (f.rule, f.category, f.action, f.path)
    assert got == ("secret-in-added-line", "scan-incomplete", "step-up", "big.bin")
    assert "time budget" in f.message and TOKEN not in f.message
    on_time = _evaluate_under(repo, budget.Deadline(1000))
    assert on_time.verdict == "block"
    assert [f.category for f in on_time.findings if f.kind == "secret"] == ["github-token"]


def test_hits_before_the_budget_ran_short_are_kept() -> None:
    deadline = budget.Deadline(1000)

    def chunks() -> Iterator[bytes]:
        yield noise(5000) + f"\0{TOKEN}\0".encode() + noise(20_000, 5)
        deadline.start -= 900  # the clock moves on: 100 s of 1000 left
        deadline.at -= 900
        yield noise(20_000, 6) + f"\0{AWS}\0".encode()

    with deadline.active():
        hits, stopped = scan_runs("x.bin", chunks(), 20_000)
    assert [h.detector for h in hits] == ["github-token"]
    assert stopped is not None and "time budget" in stopped and not deadline.fired


def test_the_binary_cap_has_a_hard_ceiling(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": "secrets: {max_binary_bytes: 5000000000}\n"})
    agent_branch(repo).commit(AGENT, files={"a.txt": "x\n"})
    r = cli(["check", "--repo", str(repo.path), "--base", "main"])
    assert r.exit_code == 2 and "max_binary_bytes" in r.output and "Traceback" not in r.output


def test_a_modified_file_the_change_marks_minus_diff_is_still_read(repo: Repo) -> None:
    repo.commit("config", files={"config.ini": "[app]\nname = x\n"})
    agent_branch(repo).commit(
        AGENT,
        files={".gitattributes": "config.ini -diff\n", "config.ini": f"[app]\nname = x\ntoken = {TOKEN}\n"},
    )
    code, data, out = check(repo)
    assert code == 1 and ("github-token", "config.ini", "block") in secrets_in(data)
    assert TOKEN not in out


def test_prereceive_rejects_a_utf16_token_git_diffs_as_text(tmp_path: Path) -> None:
    work, push = _hooked(tmp_path)
    work.commit(AGENT, files={"late.dat": b"A" * 9000 + b"\n" + f"token={TOKEN}\n".encode("utf-16-le")})
    r = push()
    assert r.returncode != 0 and "BLOCKED" in r.stderr and "late.dat" in r.stderr and TOKEN not in r.stderr
