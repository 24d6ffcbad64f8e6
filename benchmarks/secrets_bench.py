"""Secret scanning throughput and memory: pipeline-guard against bare detect-secrets, same run, same lines.

    python benchmarks/secrets_bench.py                 # ~100k added lines, ratio printed
    python benchmarks/secrets_bench.py --lines 20000   # quicker
    python benchmarks/secrets_bench.py --memory-mb 100 # peak RSS of build_change + check on a ~100 MB diff

The diff is real source text (the Python files of the running interpreter's site-packages, cut into
commits) with fake credentials planted at known lines. Timed:
- in-process: GitRepo.build_change (git reading) and the secret check, separately;
- the whole `pipeline-guard check` CLI as a subprocess (start-up, policy, identify, all checks, report);
- `detect-secrets scan` over the same files (all of them are added, so the same lines).
Recall is checked against the planted secrets and against detect-secrets' own true positives.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data" / "secrets"))

from fakes import Fakes  # noqa: E402

PLANTS = [
    'GITHUB_TOKEN = "@@ghp@@"',
    "OPENAI_API_KEY = '@@openai_proj@@'",
    'client = Anthropic(api_key="@@anthropic@@")',
    'AWS_ACCESS_KEY_ID = "@@akia@@"',
    'STRIPE_KEY = "@@stripe@@"',
    'SLACK = "@@slack_bot@@"',
    'DB_URL = "postgres://app:@@password@@@db.internal:5432/app"',
    'DB_PASSWORD = "@@password@@"',
    'SENDGRID = "@@sendgrid@@"',
    'NPM_TOKEN = "@@npm@@"',
    'GOOGLE_KEY = "@@google@@"',
    'GITLAB = "@@glpat@@"',
]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.com"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def source_files() -> list[Path]:
    site = Path(sysconfig.get_paths()["purelib"])
    return sorted(p for p in site.rglob("*.py") if "guard" not in p.parts)


def build_repo(where: Path, target_lines: int, commits: int = 10) -> tuple[str, list[tuple[str, int]]]:
    """A repository whose head adds ~target_lines lines over `commits` commits; returns base and plants."""
    git(where, "init", "-q", "-b", "main")
    git(where, "commit", "-q", "--allow-empty", "-m", "base")
    base = git(where, "rev-parse", "HEAD").strip()
    fakes = Fakes(7)
    plants: list[tuple[str, int]] = []
    per_commit = target_lines // commits
    total = batch = n = 0
    for src in source_files():
        try:
            lines = src.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        if not lines:
            continue
        rel = f"src/f{n:05d}_{src.name}"
        n += 1
        if n % 40 == 0:  # a planted credential every 40 files
            at = len(lines) // 2
            text, _ = fakes.fill(PLANTS[(n // 40) % len(PLANTS)])
            lines.insert(at, text)
            plants.append((rel, at + 1))
        dest = where / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
        total += len(lines)
        batch += len(lines)
        if batch >= per_commit or total >= target_lines:
            git(where, "add", "-A")
            git(where, "commit", "-q", "-m", f"batch {n}")
            batch = 0
        if total >= target_lines:
            break
    if batch:
        git(where, "add", "-A")
        git(where, "commit", "-q", "-m", "last batch")
    return base, plants


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_guard(repo: Path, base: str) -> tuple[float, float, set[tuple[str, int]], int]:
    from guard.checks.interface import CheckContext
    from guard.checks.secrets import check
    from guard.git.repo import GitRepo
    from guard.policy import builtin_policy

    policy = builtin_policy()
    rule = next(r for r in policy.rules if r.kind == "secret")
    t_git, change = timed(lambda: GitRepo(repo).build_change(base, "HEAD"))
    t_scan, found = timed(lambda: check(CheckContext(change, policy), rule))
    lines = sum(len(f.added) for c in change.commits for f in c.files)
    return t_git, t_scan, {(f.path or "", f.line or 0) for f in found}, lines


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_cli(repo: Path, base: str, head: str = "HEAD") -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of it and its children, secret findings) of one whole CLI run."""
    cmd = [sys.executable, "-c", "import sys; from guard.cli import main; sys.exit(main())",
           "check", "--repo", str(repo), "--base", base, "--head", head, "--format", "json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in ("GITHUB_ACTIONS", "GITLAB_CI"):
        env.pop(var, None)
    cpu = _cpu_children()
    t, proc = timed(lambda: subprocess.run(cmd, capture_output=True, text=True, env=env))
    cpu = _cpu_children() - cpu
    try:
        report = json.loads(proc.stdout)
        secrets = [f for f in report.get("findings", []) if f.get("kind") == "secret"]
    except (ValueError, AttributeError):
        print(f"  CLI exit {proc.returncode}, no JSON report: {proc.stderr.strip()[-300:]}")
        return t, cpu, -1
    return t, cpu, len(secrets)


def run_detect_secrets(repo: Path, cores: int | None = None) -> tuple[float, float, set[tuple[str, int]]]:
    """(wall, CPU, findings) of `detect-secrets scan` over the repository's files."""
    exe = Path(sys.executable).with_name("detect-secrets")
    opts = ["--cores", str(cores)] if cores else []
    cpu = _cpu_children()
    cmd = [str(exe), *opts, "scan", "--all-files"]
    t, proc = timed(lambda: subprocess.run(cmd, cwd=repo, capture_output=True))
    cpu = _cpu_children() - cpu
    data = json.loads(proc.stdout)
    return t, cpu, {(path, s["line_number"]) for path, items in data["results"].items() for s in items}


def throughput(lines: int, one_core: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pg-secrets-bench-"))
    try:
        base, plants = build_repo(tmp, lines)
        t_git, t_scan, ours, added = run_guard(tmp, base)
        runs = sorted(run_cli(tmp, base) for _ in range(3))
        cli_t, cli_cpu, cli_n = runs[1]  # the median of three
        idle_t, _, _ = sorted(run_cli(tmp, "HEAD") for _ in range(3))[1]  # empty range: fixed costs
        t_ds, cpu_ds, theirs = run_detect_secrets(tmp)
        planted = set(plants)
        files = len(list((tmp / "src").iterdir()))
        inproc = t_git + t_scan
        rows = [
            f"added lines: {added:,} in {files} files, {len(plants)} planted secrets",
            f"detect-secrets scan (all {os.cpu_count()} cores): {t_ds:6.2f} s wall, {cpu_ds:6.2f} s CPU "
            f"({added / t_ds:,.0f} lines/s)",
        ]
        if one_core:
            t_ds1, _, _ = run_detect_secrets(tmp, cores=1)
            rows.append(f"detect-secrets --cores 1 scan: {t_ds1:6.2f} s wall ({added / t_ds1:,.0f} lines/s)")
        rows += [
            f"`pipeline-guard check` (CLI):     {cli_t:6.2f} s wall, {cli_cpu:6.2f} s CPU (median of 3; "
            f"{cli_n} secret findings in its JSON report)",
            f"  of which fixed costs:           {idle_t:6.2f} s (the same CLI on an empty range: "
            "start-up, imports, policy)",
            f"  in-process build_change:        {t_git:6.2f} s (git reading, shared by all checks)",
            f"  in-process secret check:        {t_scan:6.2f} s ({added / t_scan:,.0f} lines/s, "
            "detect-secrets' plugins loaded on first use)",
            f"RATIO whole CLI vs detect-secrets, wall:  {t_ds / cli_t:5.1f}x",
            f"RATIO whole CLI vs detect-secrets, CPU:   {cpu_ds / cli_cpu:5.1f}x",
        ]
        if one_core:
            rows.append(f"RATIO whole CLI vs detect-secrets on one core, wall: {t_ds1 / cli_t:5.1f}x")
        rows += [
            f"RATIO in-process (git + secret check) vs detect-secrets, wall: {t_ds / inproc:5.1f}x",
        ]
        lost = (planted & theirs) - ours
        rows += [
            f"planted found: {len(planted & ours)}/{len(planted)} by pipeline-guard, "
            f"{len(planted & theirs)}/{len(planted)} by detect-secrets",
            f"detect-secrets true positives lost by pipeline-guard: {len(lost)} {sorted(lost)}",
            f"other findings on real source (false alarms): detect-secrets {len(theirs - planted)}, "
            f"pipeline-guard {len(ours - planted)}",
        ]
        print("\n".join(rows))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_sized_repo(where: Path, megabytes: int) -> tuple[str, int, int]:
    """A repository whose head adds ~`megabytes` MB of source files; (base, bytes, commits)."""
    files = [p for p in source_files() if p.stat().st_size < 2_000_000]
    git(where, "init", "-q", "-b", "main")
    git(where, "commit", "-q", "--allow-empty", "-m", "base")
    base = git(where, "rev-parse", "HEAD").strip()
    size = rounds = 0
    while size < megabytes * 1_000_000:
        for i, src in enumerate(files):
            data = src.read_bytes()
            dest = where / f"r{rounds}" / f"{i:05d}.py"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            size += len(data)
            if size >= megabytes * 1_000_000:
                break
        git(where, "add", "-A")
        git(where, "commit", "-q", "-m", f"round {rounds}")
        rounds += 1
    return base, size, rounds


def memory_in(repo: Path, base: str) -> None:
    """Peak RSS of a fresh process doing build_change + check over `repo`'s range from `base`."""
    cmd = [sys.executable, __file__, "--measure-child", str(repo), base]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-500:])
        return
    after_git, peak, n, secs = out.stdout.split()
    print(f"in-process build_change + secret check: {float(secs):.1f} s")
    print(f"peak RSS after build_change: {int(after_git) / 1024:.0f} MB; after the secret check: "
          f"{int(peak) / 1024:.0f} MB ({n} findings)")  # fmt: skip


def memory(megabytes: int) -> None:
    """Peak RSS of a fresh process doing build_change + check over a ~`megabytes` MB diff."""
    tmp = Path(tempfile.mkdtemp(prefix="pg-secrets-mem-"))
    try:
        base, size, rounds = build_sized_repo(tmp, megabytes)
        print(f"diff: {size / 1e6:.0f} MB in {rounds} commits")
        memory_in(tmp, base)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure_child(repo: str, base: str) -> None:
    """Run in a fresh process: peak RSS after reading git, then after the secret check."""
    from guard.checks.interface import CheckContext
    from guard.checks.secrets import check
    from guard.git.repo import GitRepo
    from guard.policy import builtin_policy

    policy = builtin_policy()
    rule = next(r for r in policy.rules if r.kind == "secret")
    start = time.perf_counter()
    change = GitRepo(repo).build_change(base, "HEAD")
    after_git = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = check(CheckContext(change, policy), rule)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(after_git, peak, len(found), time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--memory-mb", type=int, default=0, help="also measure peak RSS on a diff this large")
    ap.add_argument("--one-core", action="store_true", help="also time detect-secrets on one core")
    ap.add_argument("--measure-child", nargs=2, metavar=("REPO", "BASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_child:
        measure_child(*args.measure_child)
        return
    throughput(args.lines, args.one_core)
    if args.memory_mb:
        memory(args.memory_mb)
    print(f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
