"""The issue-17 speed targets, from one run, as ratios against baselines timed in the same run.

    python benchmarks/secrets_speed.py                  # ~10 MB of added lines, typical push, 100 MB RSS
    python benchmarks/secrets_speed.py --mb 2 --memory-mb 0   # quicker

1. A real git repository whose range adds ~`--mb` MB of lines (this interpreter's site-packages,
   fake credentials planted; benchmarks/secrets_bench.build_repo). Timed on that range:
   - the whole `pipeline-guard check` CLI as a subprocess (start-up, policy, identify, every check,
     the JSON report), median of 3; big changes take the scanner's two-process path by themselves
     (guard/secrets/parallel.py, when the machine has more than one core);
   - `detect-secrets scan --all-files` over the same files with its defaults (it spreads files over
     every core: `--cores` defaults to all of them);
   - a plain `git diff base..head` of the range (output read and thrown away), median of 3.
2. The pre-receive hook on a typical push (20 commits, 1,000 added lines), a fresh process per run,
   start-up included (benchmarks/prereceive_bench.py's set-up), median of 5.
3. Peak RSS of reading git and running the secret check over a ~`--memory-mb` MB diff
   (benchmarks/secrets_bench.memory, a fresh process).

Targets (issue 17): check >= 30x faster than detect-secrets scan; check <= 3x git diff; typical
push <= 0.4 s; peak RSS <= 300 MB on 100 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import prereceive_bench as pr  # noqa: E402
import secrets_bench as sb  # noqa: E402

BYTES_PER_LINE = 38  # measured on site-packages source: sizes the repository before building it


def median_of(n: int, fn):  # type: ignore[no-untyped-def]
    runs = sorted((fn() for _ in range(n)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def git_diff_seconds(repo: Path, base: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(["git", "diff", base, "HEAD"], cwd=repo, capture_output=True, check=True)
    return time.perf_counter() - t0, len(out.stdout)


def range_scan(megabytes: float) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="pg-secrets-speed-"))
    try:
        base, plants = sb.build_repo(tmp, int(megabytes * 1e6 / BYTES_PER_LINE), commits=20)
        t_diff, size = median_of(3, lambda: git_diff_seconds(tmp, base))
        added = int(sb.git(tmp, "diff", "--numstat", base, "HEAD").count("\n"))
        cli_t, cli_cpu, cli_n = median_of(3, lambda: sb.run_cli(tmp, base))
        idle_t, _, _ = median_of(3, lambda: sb.run_cli(tmp, "HEAD"))
        ds_t, ds_cpu, ds_found = sb.run_detect_secrets(tmp)
        where = subprocess.run([sys.executable, __file__, "--phases-child", str(tmp), base],
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"range: {size / 1e6:.1f} MB of diff, {added} files added over 20 commits, {len(plants)} planted")
    print(
        f"  pipeline-guard check (whole CLI)  {cli_t:7.2f} s wall  {cli_cpu:7.2f} s CPU  "
        f"({cli_n} secret findings; {idle_t:.2f} s of it is fixed cost: the CLI on an empty range)"
    )
    print(f"  detect-secrets scan (all {os.cpu_count()} cores) {ds_t:7.2f} s wall  {ds_cpu:7.2f} s CPU  "
          f"({len(ds_found)} findings)")  # fmt: skip
    print(f"  git diff of the range             {t_diff:7.2f} s wall")
    print(f"  where the check's time goes (in-process, one fresh process): {where}")
    print(f"RATIO detect-secrets / check, wall:  {ds_t / cli_t:6.1f}x   (target >= 30x)")
    print(f"RATIO detect-secrets / check, CPU:   {ds_cpu / cli_cpu:6.1f}x")
    print(f"RATIO check / git diff, wall:        {cli_t / t_diff:6.1f}x   (target <= 3x)")
    return {"check": cli_t, "detect_secrets": ds_t, "diff": t_diff}


def typical_push(runs: int) -> float:
    root = Path(tempfile.mkdtemp(prefix="pg-speed-push-"))
    try:
        server, work, cache = root / "server.git", root / "work", root / "pycache"
        pr.git(root, "init", "-q", "--bare", "-b", "main", str(server))
        pr.git(root, "init", "-q", "-b", "main", str(work))
        (work / "README.md").write_text("bench\n")
        pr.git(work, "add", "-A")
        pr.git(work, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-q", "-m", "init")
        pr.git(work, "push", "-q", str(server), "main")
        pr.make_commits(work, 20, 1000, seed=7, folder="typical")
        old, new = pr.stage(server, work, "typical")
        stdin = f"{old} {new} refs/heads/typical\n"
        env = pr.hook_env(cache)
        pr.run_hook(server, stdin, env)  # warm byte-code and page caches
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            pr.run_hook(server, stdin, env)
            samples.append(time.perf_counter() - t0)
        hook = statistics.median(samples)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"pre-receive, typical push (20 commits, 1,000 lines), whole process: {hook:.3f} s "
          f"(median of {runs}; target <= 0.400 s)")  # fmt: skip
    return hook


def phases_child(repo: str, base: str) -> None:
    """In a fresh process: the check's main costs, one after the other."""
    t0 = time.perf_counter()
    from guard.checks.interface import CheckContext
    from guard.checks.secrets import check
    from guard.cli import main as _cli  # noqa: F401  (the CLI's own imports count)
    from guard.git.repo import GitRepo
    from guard.policy import builtin_policy

    t1 = time.perf_counter()
    policy = builtin_policy()
    rule = next(r for r in policy.rules if r.kind == "secret")
    change = GitRepo(repo).build_change(base, "HEAD")
    t2 = time.perf_counter()
    from guard.secrets.engine import load_detectors

    load_detectors()  # detect-secrets' plugins: imported once a gate needs them (any big change)
    t3 = time.perf_counter()
    check(CheckContext(change, policy), rule)
    t4 = time.perf_counter()
    print(f"imports {t1 - t0:.2f} s, policy + reading git {t2 - t1:.2f} s, "
          f"loading detect-secrets' plugins {t3 - t2:.2f} s, secret scan {t4 - t3:.2f} s")  # fmt: skip


def big_diff_memory(megabytes: int) -> None:
    """Peak RSS on a ~`megabytes` MB diff: in-process (git + secret check) and the whole CLI."""
    tmp = Path(tempfile.mkdtemp(prefix="pg-speed-mem-"))
    try:
        base, size, rounds = sb.build_sized_repo(tmp, megabytes)
        print(f"peak memory on {size / 1e6:.0f} MB of added lines in {rounds} commits (target <= 300 MB):")
        sb.memory_in(tmp, base)
        # A fresh wrapper whose only child is the CLI: its children's peak RSS is the CLI's
        # (the larger of its two processes when the scan forks).
        probe = (
            "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        cli = [sys.executable, "-m", "guard.cli", "check", "--repo", str(tmp), "--base", base,
               "--head", "HEAD", "--format", "json"]  # fmt: skip
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", probe, *cli], capture_output=True, text=True, check=True)
        secs = time.perf_counter() - t0
        rss = int(out.stdout.split()[-1]) / 1024
        print(f"whole `pipeline-guard check` CLI: peak RSS {rss:.0f} MB, {secs:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def installed_like_env(cache: Path) -> None:
    """Byte-code cached, as for an installed package (the CLI runs below inherit os.environ)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    os.environ["PYTHONPATH"] = str(HERE.parent)
    for var in ("GITHUB_ACTIONS", "GITLAB_CI"):
        os.environ.pop(var, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=10, help="size of the added lines of the range")
    ap.add_argument("--runs", type=int, default=5, help="pre-receive runs")
    ap.add_argument("--memory-mb", type=int, default=100, help="diff size for peak RSS (0: skip)")
    ap.add_argument("--phases-child", nargs=2, metavar=("REPO", "BASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phases_child:
        phases_child(*args.phases_child)
        return
    installed_like_env(Path(tempfile.gettempdir()) / "pg-speed-pycache")
    r = range_scan(args.mb)
    hook = typical_push(args.runs)
    if args.memory_mb:
        big_diff_memory(args.memory_mb)
    met = {
        "check >= 30x faster than detect-secrets scan": r["detect_secrets"] / r["check"] >= 30,
        "check <= 3x git diff": r["check"] / r["diff"] <= 3,
        "typical push <= 0.4 s": hook <= 0.4,
    }
    for what, ok in met.items():
        print(f"target {what}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
