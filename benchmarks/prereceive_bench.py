"""Benchmark the pre-receive hook end to end, interpreter start-up included (not a timed test).

Two pushes into a bare repository: a typical one (20 commits, 1,000 added lines) and a large one
(100,000 added lines, ~6 MB). The objects are pushed first under a scratch ref that is then
deleted, so they are in the repository but no ref reaches them: exactly what the hook sees in the
quarantine. Each hook run is a fresh `python -m guard.cli pre-receive` process reading the update
line on stdin, as git starts it. Byte-code is cached (PYTHONPYCACHEPREFIX) as in an installed
package. Baselines on the same range: bare `git diff` and bare `detect-secrets scan`.

    /tmp/pg/venv/bin/python benchmarks/prereceive_bench.py [--runs 5] [--keep DIR]

Targets (issue #7): typical push <= 0.4 s; 100k added lines decided in < 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZERO = "0" * 40
TRAILER = "Co-Authored-By: Claude <noreply@anthropic.com>"
WORDS = ("alpha", "beta", "gamma", "delta", "value", "result", "count", "index", "config", "parse", "render")


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def code_line(rnd: random.Random, i: int) -> str:
    """~60 bytes of plausible code, now and then a quoted string the secret gates look at."""
    a, b, c = (rnd.choice(WORDS) for _ in range(3))
    if i % 40 == 0:
        return f'    {a}_label = "{b} {c} {i}"  # user-facing text\n'
    return f"    {a}_{i % 97} = compute_{b}({c}, {i}) + {rnd.randint(0, 999)}\n"


def make_commits(work: Path, commits: int, lines: int, seed: int, folder: str) -> None:
    rnd = random.Random(seed)
    per = max(lines // commits, 1)
    env = {**os.environ, "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com"}
    for n in range(commits):
        path = work / folder / f"mod_{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(code_line(rnd, n * per + i) for i in range(per))
        path.write_text(f"def f_{n}():\n{body}")
        git(work, "add", "-A")
        msg = f"Change {n}" + (f"\n\n{TRAILER}\n" if n % 3 == 0 else "")
        git(work, "commit", "-q", "--no-verify", "-m", msg, env=env)


def stage(server: Path, work: Path, ref: str) -> tuple[str, str]:
    """Put work's new objects into the server with no ref reaching them; (old, new) for stdin."""
    old = git(server, "rev-parse", "refs/heads/main")
    new = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", str(server), f"HEAD:refs/bench/{ref}")
    git(server, "update-ref", "-d", f"refs/bench/{ref}")
    return old, new


def timed(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def hook_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"GIT_DIR": ".", "PYTHONPYCACHEPREFIX": str(cache)}
    return env


def run_hook(server: Path, stdin: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *extra, "-m", "guard.cli", "pre-receive", "--budget", "120"],
        cwd=server,
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
    )


def import_costs(server: Path, stdin: str, env: dict[str, str]) -> list[tuple[str, float]]:
    """Cumulative import time (ms) of the top-level packages the hook loads, from -X importtime."""
    proc = run_hook(server, stdin, env, "-X", "importtime")
    costs: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (p.strip() for p in line[len("import time:") :].split("|"))
        if not cumulative.isdigit():
            continue
        top = name.split(".")[0] if not name.startswith("guard") else ".".join(name.split(".")[:2])
        if name == top or name.startswith("guard."):  # a package's own line carries its cumulative cost
            costs[top] = max(costs.get(top, 0.0), int(cumulative) / 1000)
    return sorted(costs.items(), key=lambda kv: -kv[1])[:14]


def scenario(
    name: str, server: Path, work: Path, commits: int, lines: int, runs: int, cache: Path
) -> dict[str, float]:
    make_commits(work, commits, lines, seed=len(name), folder=name)
    old, new = stage(server, work, name)
    stdin = f"{old} {new} refs/heads/{name}\n"
    env = hook_env(cache)
    proc = run_hook(server, stdin, env)  # warm byte-code and page caches
    verdict = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    hook = timed(lambda: run_hook(server, stdin, env), runs)
    diff = timed(lambda: git(server, "diff", old, new), runs)
    files = Path(tempfile.mkdtemp(prefix="pg-ds-"))
    try:
        shutil.copytree(work / name, files / name)
        ds = shutil.which("detect-secrets", path=str(Path(sys.executable).parent)) or "detect-secrets"
        # Run from the copy itself: inside another git repository's work tree (e.g. this checkout)
        # detect-secrets silently scans nothing outside it, even with --all-files.
        scan = timed(
            lambda: subprocess.run([ds, "scan", "--all-files", "."], cwd=files, capture_output=True), runs
        )
    finally:
        shutil.rmtree(files)
    added = sum(
        1
        for ln in git(server, "diff", old, new).splitlines()
        if ln.startswith("+") and not ln.startswith("+++")
    )
    size = len(git(server, "diff", old, new).encode())
    print(f"\n== {name}: {commits} commits, {added} added lines, {size / 1e6:.1f} MB of diff ==")
    print(f"   hook exit {proc.returncode}: {verdict}")
    print(f"   pre-receive hook (whole process)  {hook:7.3f} s")
    print(f"   bare git diff                     {diff:7.3f} s   hook/diff           {hook / diff:6.1f}x")
    print(f"   bare detect-secrets scan          {scan:7.3f} s   hook/detect-secrets {hook / scan:6.2f}x")
    return {"hook": hook, "diff": diff, "detect_secrets": scan}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="build in this directory and keep it")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="pg-prereceive-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        server, work, cache = root / "server.git", root / "work", root / "pycache"
        git(root, "init", "-q", "--bare", "-b", "main", str(server))
        git(root, "init", "-q", "-b", "main", str(work))
        (work / "README.md").write_text("bench\n")
        git(work, "add", "-A")
        git(work, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-q", "-m", "init")
        git(work, "push", "-q", str(server), "main")
        env = hook_env(cache)
        start = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], env=env), args.runs)
        cli = timed(
            lambda: subprocess.run([sys.executable, "-m", "guard.cli", "--version"], env=env), args.runs
        )
        print(f"python start-up {start:.3f} s; `pipeline-guard --version` {cli:.3f} s")
        typical = scenario("typical", server, work, 20, 1000, args.runs, cache)
        large = scenario("large", server, work, 10, 100_000, max(args.runs // 2, 1), cache)
        old = git(server, "rev-parse", "refs/heads/main")
        stdin = f"{old} {git(work, 'rev-parse', 'HEAD~10')} refs/heads/typical\n"
        print("\nimport time on the hook path (cumulative ms, -X importtime):")
        for mod, ms in import_costs(server, stdin, env):
            print(f"   {mod:28} {ms:7.1f}")
        print("\ntargets: typical <= 0.400 s: " + ("met" if typical["hook"] <= 0.4 else "MISSED"))
        print("         100k lines < 5.000 s: " + ("met" if large["hook"] < 5 else "MISSED"))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
