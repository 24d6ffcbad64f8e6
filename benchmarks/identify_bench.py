"""Benchmark identification on a large synthetic history (not a timed test).

Builds a repository of N commits (default 20,000) with `git fast-import` - a realistic mix of
people, agent trailers and identities, automation bots and long squash bodies - then times, in
the same run, a bare `git log` of the range (the baseline: every commit's identities and full
message, printed) against the whole `pipeline-guard identify` command (a subprocess, start-up
included) and one in-process `identify_range`, and prints the ratios. Target (issue 16): identify
at most 3x the bare git log. Each timing is the best of --repeat runs.

    .venv/bin/python benchmarks/identify_bench.py [--commits 20000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_identify_labelled import Sample, fast_import, generated_people, load_labelled  # noqa: E402

from guard.git.repo import GitRepo  # noqa: E402
from guard.identify_change import identify_range  # noqa: E402
from guard.policy import builtin_policy  # noqa: E402


def history(n: int) -> list[Sample]:
    """N commits: ~80% people, the rest the labelled agents and bots, with long squash bodies mixed in."""
    rnd = random.Random(7)
    people = generated_people(2000)
    labelled = [s for s in load_labelled() if not s.merge]
    filler = "\n".join(f"* commit {i}: adjust the parser and its tests" for i in range(40))
    out: list[Sample] = []
    for i in range(n):
        s = rnd.choice(labelled) if rnd.random() < 0.2 else people[i % len(people)]
        if i % 50 == 0:
            s = Sample(s.label, s.author, f"{s.message}\n\n{filler}", s.committer)
        out.append(Sample(s.label, s.author, s.message, s.committer))
    return out


def cpu() -> float:
    """CPU seconds of this process and its finished children: steadier than wall time on a
    shared machine (other load stretches wall time, hardly CPU time)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_quiet(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})


def best(n: int, fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, cpu) seconds, each the best of n runs."""
    walls, cpus = [], []
    for _ in range(n):
        t, c = time.perf_counter(), cpu()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu() - c)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="build the repository here and keep it")
    args = ap.parse_args()
    where = args.keep or Path(tempfile.mkdtemp(prefix="pg-identify-bench-"))
    repo_dir = where / "repo"
    try:
        t0 = time.perf_counter()
        fast_import(repo_dir, history(args.commits))
        t1 = time.perf_counter()
        print(f"built {args.commits} commits with git fast-import in {t1 - t0:.1f}s")
        log = ["git", "-C", str(repo_dir), "log", "--format=%H%n%an <%ae>%n%cn <%ce>%n%P%n%B", "main"]
        t_log = best(args.repeat, lambda: run_quiet(log))
        cmd = [
            sys.executable,
            "-c",
            "from guard.cli import main; main()",
            "identify",
            "--repo",
            str(repo_dir),
            "--format",
            "json",
            "main",
        ]
        t_cli = best(args.repeat, lambda: run_quiet(cmd))
        t_api = best(args.repeat, lambda: identify_range(GitRepo(repo_dir), "main", builtin_policy()))
        result = identify_range(GitRepo(repo_dir), "main", builtin_policy())
        total = result["summary"]["total"]
        rows = [
            ("bare git log", t_log),
            ("pipeline-guard identify", t_cli),
            ("identify_range, in process", t_api),
        ]
        print(f"{'':28} {'wall':>7} {'ratio':>6} {'cpu':>7} {'ratio':>6}")
        for name, (wall, used) in rows:
            print(f"{name:28} {wall:6.2f}s {wall / t_log[0]:5.1f}x {used:6.2f}s {used / t_log[1]:5.1f}x")
        print("ratios against the bare git log of the same range, measured in this run; target <= 3x")
        print(f"{total} commits, {total / t_cli[0]:,.0f} commits/s through the command")
        print("by kind:", result["summary"]["by_kind"])
    finally:
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
