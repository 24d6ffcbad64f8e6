"""Cost of scanning binary blobs (issue 14 part 7), as a ratio against a baseline in the same run.

    python benchmarks/binary_bench.py            # 20 MB of binary, 20 MB of text baseline
    python benchmarks/binary_bench.py --mb 5     # quicker

Two changes in one real repository, each one added file of the same size:
- baseline: a text file (source-like lines) that git diffs as text, scanned as added lines;
- binary: random bytes with printable runs (the worst realistic case: many runs to scan), which
  git calls binary and the guard now streams through the printable-run scan.
Both are timed as GitRepo.build_change + the secret check, best of three; the ratio binary/text is
what the change costs per byte. Also printed: an incompressible blob of only control bytes (no
runs), which measures the streaming itself, and a text file holding UTF-16 past git's 8000-byte
NUL look, which git diffs as text and the guard now scans twice (lines, then printable runs).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guard.checks.secrets import check  # noqa: E402
from guard.git.repo import GitRepo  # noqa: E402
from guard.policy import builtin_policy  # noqa: E402


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _repo(where: Path, name: str, data: bytes) -> tuple[Path, str]:
    path = where / name
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "--allow-empty", "-m", "base")
    base = _git(path, "rev-parse", "HEAD")
    (path / "payload").write_bytes(data)
    _git(path, "add", "-A")
    _git(path, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", "payload")
    return path, base


def _time(path: Path, base: str) -> tuple[float, int]:
    policy = builtin_policy()
    rule = next(r for r in policy.rules if r.kind == "secret")
    best, found = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        change = GitRepo(path).build_change(base, "HEAD")
        found = len(check(change, rule, policy))
        best = min(best, time.perf_counter() - start)
    return best, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=20)
    n = ap.parse_args().mb * 1_000_000
    rnd = random.Random(1)
    words = [f"value_{i} = compute(x{i}, y)  # note {i}" for i in range(1000)]
    text = "\n".join(rnd.choice(words) for _ in range(n // 30)).encode()[:n]
    runs = bytearray()
    while len(runs) < n:
        runs += rnd.choice(words).encode() + bytes(rnd.randrange(0, 8) for _ in range(rnd.randrange(1, 40)))
    control = bytes(rnd.randrange(0, 8) for _ in range(n))
    utf16 = text[:9000] + b"\n" + text[: (n - 9001) // 2].decode().encode("utf-16-le")
    tmp = Path(tempfile.mkdtemp())
    try:
        t_text, _ = _time(*_repo(tmp, "text", text))
        t_runs, _ = _time(*_repo(tmp, "runs", bytes(runs[:n])))
        t_ctrl, _ = _time(*_repo(tmp, "ctrl", control))
        t_u16, _ = _time(*_repo(tmp, "utf16", utf16))
    finally:
        shutil.rmtree(tmp)
    mb = n / 1e6
    print(f"{mb:.0f} MB added file, best of 3 (build_change + secret check)")
    print(f"  text baseline            {t_text:7.2f} s  ({mb / t_text:6.1f} MB/s)")
    rows = (
        ("binary, printable runs", t_runs),
        ("binary, control bytes", t_ctrl),
        ("text diff holding UTF-16", t_u16),
    )
    for label, t in rows:
        print(f"  {label:<24} {t:7.2f} s  ({mb / t:6.1f} MB/s)  ratio {t / t_text:5.2f}x text")


if __name__ == "__main__":
    main()
