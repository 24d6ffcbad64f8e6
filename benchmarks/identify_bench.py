"""Benchmark `identify_range` on a large synthetic history (not a timed test).

Builds a repository of N commits (default 100,000) with `git fast-import` - a realistic mix of
people, agent trailers and identities, automation bots and long squash bodies - then times one
`identify_range` over the whole history and prints commits/s.

    /tmp/pg/venv/bin/python benchmarks/identify_bench.py [--commits 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_identify_labelled import Sample, fast_import, generated_people, load_labelled  # noqa: E402

from guard.git.repo import GitRepo  # noqa: E402
from guard.identify import identify_range  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="build the repository here and keep it")
    args = ap.parse_args()
    where = args.keep or Path(tempfile.mkdtemp(prefix="pg-identify-bench-"))
    repo_dir = where / "repo"
    try:
        t0 = time.perf_counter()
        fast_import(repo_dir, history(args.commits))
        t1 = time.perf_counter()
        print(f"built {args.commits} commits with git fast-import in {t1 - t0:.1f}s")
        result = identify_range(GitRepo(repo_dir), "main", builtin_policy())
        t2 = time.perf_counter()
        total = result["summary"]["total"]
        print(f"identify_range: {total} commits in {t2 - t1:.2f}s = {total / (t2 - t1):,.0f} commits/s")
        print("by kind:", result["summary"]["by_kind"])
    finally:
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
