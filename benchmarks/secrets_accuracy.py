"""Recall and precision on the labelled corpus: pipeline-guard, bare detect-secrets, Kingfisher.

    python benchmarks/secrets_accuracy.py             # the table, per slice and per tier
    python benchmarks/secrets_accuracy.py --misses    # also list misses and false alarms (ids, no values)
    python benchmarks/secrets_accuracy.py --kingfisher-perf   # Kingfisher start-up, MB/s, peak RSS

The corpus is tests/data/secrets_corpus (see its README: built and labelled by the team).
- pipeline-guard: the secret check's own path (raw hunks through guard.secrets.parallel.scan_patches)
  at the default policy's confidence floor; per tier when hits carry a `tier`.
- detect-secrets: its `SecretsCollection.scan_file` with its default plugins and filters, each case
  written as a file under its own path.
- Kingfisher (`pip install kingfisher-secret-scanner`, optional): its SDK's `Scanner` with the CLI's
  `DetectionPolicy`, built-in rules at medium confidence, each case scanned with its path; visible
  findings only. No validation (no network).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data" / "secrets_corpus"))

import corpus  # noqa: E402
from corpus import Case, Score, flagged, guard_hits, score  # noqa: E402

Predict = Callable[[list[Case]], list[list[int]]]  # per case, the snippet lines with findings


def guard_lines(cases: list[Case]) -> tuple[list[list[int]], dict[str, list[list[int]]]]:
    """Lines with findings, all tiers together and (when hits carry one) per tier."""
    out: list[list[int]] = []
    tiers: dict[str, list[list[int]]] = {}
    for i, c in enumerate(cases):
        hits = guard_hits(c)
        out.append([h.line for h in hits])
        for h in hits:
            tier = getattr(h, "tier", None)
            if tier is not None:
                tiers.setdefault(str(tier), [[] for _ in cases])[i].append(h.line)
    return out, tiers


def detect_secrets_lines(cases: list[Case]) -> list[list[int]]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    out: list[list[int]] = []
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="pg-ds-corpus-") as tmp:
        os.chdir(tmp)  # its is_invalid_file filter wants real files under the working directory
        try:
            with default_settings():
                for i, c in enumerate(cases):
                    rel = Path(f"case{i}") / c.path.lstrip("~/")
                    rel.parent.mkdir(parents=True, exist_ok=True)
                    rel.write_text("\n".join(c.lines) + "\n", encoding="utf-8")
                    found = SecretsCollection()
                    found.scan_file(str(rel))
                    out.append(sorted({s.line_number for ss in found.data.values() for s in ss}))
        finally:
            os.chdir(cwd)
    return out


def kingfisher_lines(cases: list[Case]) -> list[list[int]] | None:
    try:
        import kingfisher_sdk as kf  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    scanner = kf.Scanner(kf.Rules(), policy=kf.DetectionPolicy())
    out: list[list[int]] = []
    for c in cases:
        data = ("\n".join(c.lines) + "\n").encode()
        found = scanner.scan_input(kf.ScanInput(path=c.path, data=data))
        out.append(sorted({f.location["line"] for f in found if f.visible}))
    return out


def row(name: str, cases: list[Case], lines: list[list[int]]) -> tuple[str, Score]:
    s = score(cases, [flagged(c, ln) for c, ln in zip(cases, lines, strict=True)])
    rec = f"recall {s.recall:5.3f} ({s.tp:3}/{s.positives:3})" if s.positives else " " * 24
    prec = f"precision {s.precision:5.3f}" if s.positives and s.negatives else " " * 15
    return f"  {name:34} {rec}  {prec}  (false alarms {s.fp:3}/{s.negatives:3})", s


def table(cases: list[Case], engines: dict[str, list[list[int]]]) -> None:
    groups = [("overall", list(range(len(cases))))]
    groups += [(f"slice {s}", [i for i, c in enumerate(cases) if c.slice == s]) for s in corpus.SLICES]
    pos = sum(c.positive for c in cases)
    print(f"corpus: {len(cases)} cases, {pos} credentials, {len(cases) - pos} not "
          f"({len({c.vendor for c in cases if c.vendor})} vendors)")  # fmt: skip
    for title, idx in groups:
        sub = [cases[i] for i in idx]
        print(
            f"\n{title}: {sum(c.positive for c in sub)} credentials, {sum(not c.positive for c in sub)} not"
        )
        for name, lines in engines.items():
            print(row(name, sub, [lines[i] for i in idx])[0])


def union(*engines: list[list[int]]) -> list[list[int]]:
    return [sorted(set().union(*per_case)) for per_case in zip(*engines, strict=True)]


def misses(cases: list[Case], name: str, lines: list[list[int]]) -> None:
    print(f"\n{name}: misses and false alarms (case ids; values never printed)")
    for c, ln in zip(cases, lines, strict=True):
        if flagged(c, ln) != c.positive:
            kind = "miss" if c.positive else "false alarm"
            print(f"  {kind:11} {c.slice:9} {c.id}  {c.path}  ({c.vendor or c.reason[:60]})")


# ----- Kingfisher's cost -----


def _corpus_bytes(megabytes: int) -> bytes:
    """~`megabytes` MB of real source text (this interpreter's site-packages)."""
    site = Path(sysconfig.get_paths()["purelib"])
    chunks: list[bytes] = []
    size = 0
    for p in sorted(site.rglob("*.py")):
        data = p.read_bytes()
        chunks.append(data)
        size += len(data)
        if size >= megabytes * 1_000_000:
            break
    return b"\n".join(chunks)


def kingfisher_child(mode: str, cache: str) -> None:
    """In a fresh process: one timing, printed as `seconds peak_rss_kb [findings]`."""
    t0 = time.perf_counter()
    import kingfisher_sdk as kf  # type: ignore[import-not-found,import-untyped,unused-ignore]

    rules = kf.Rules(cache_dir=cache)
    scanner = kf.Scanner(rules, policy=kf.DetectionPolicy())
    loaded = time.perf_counter() - t0
    if mode == "startup":
        print(f"{loaded:.4f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {rules.cache_status}")
        return
    data = _corpus_bytes(int(mode))
    t1 = time.perf_counter()
    found = scanner.scan(data)
    secs = time.perf_counter() - t1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{secs:.4f} {rss} {len(data)} {sum(f.visible for f in found)}")


def kingfisher_perf(megabytes: int) -> None:
    def child(mode: str, cache: str) -> list[str]:
        cmd = [sys.executable, __file__, "--kingfisher-child", mode, cache]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return out.stdout.split()

    with tempfile.TemporaryDirectory(prefix="pg-kf-cache-") as cache:
        cold = child("startup", cache)
        warm = sorted((child("startup", cache) for _ in range(3)), key=lambda r: float(r[0]))[1]
        base = [sys.executable, "-c", "pass"]
        t0 = time.perf_counter()
        subprocess.run(base, check=True)
        python = time.perf_counter() - t0
        secs, rss, size, n = child(str(megabytes), cache)
    print("\nKingfisher (in-process SDK, one process per figure):")
    print(f"  start-up, import + rules + scanner, cold rule cache: {float(cold[0]):6.3f} s ({cold[2]})")
    print(f"  start-up, warm rule cache (median of 3):             {float(warm[0]):6.3f} s ({warm[2]}); "
          f"bare python start-up {python:.3f} s")  # fmt: skip
    print(f"  peak RSS after loading the rules:                    {int(warm[1]) / 1024:6.0f} MB")
    mbs = int(size) / 1e6 / float(secs)
    print(f"  throughput on {int(size) / 1e6:.1f} MB of Python source:           {mbs:6.1f} MB/s "
          f"({float(secs):.2f} s, {n} visible findings)")  # fmt: skip
    print(f"  peak RSS scanning it (one buffer):                   {int(rss) / 1024:6.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=17, help="seed for the templates' fake values")
    ap.add_argument("--misses", action="store_true", help="list each engine's misses and false alarms")
    ap.add_argument("--kingfisher-perf", action="store_true", help="also time Kingfisher")
    ap.add_argument("--megabytes", type=int, default=10, help="input size for Kingfisher's throughput")
    ap.add_argument("--kingfisher-child", nargs=2, metavar=("MODE", "CACHE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.kingfisher_child:
        kingfisher_child(*args.kingfisher_child)
        return
    cases = corpus.load(args.seed)
    ours, tiers = guard_lines(cases)
    engines = {"pipeline-guard": ours}
    for tier, lines in sorted(tiers.items()):
        engines[f"  pipeline-guard tier {tier} only"] = lines
    engines["detect-secrets (bare, defaults)"] = detect_secrets_lines(cases)
    kf = kingfisher_lines(cases)
    if kf is not None:
        engines["Kingfisher 1.5 (built-in rules)"] = kf
        engines["pipeline-guard + Kingfisher"] = union(ours, kf)
    else:
        print("(kingfisher-secret-scanner is not installed: its rows are left out)")
    table(cases, engines)
    if args.misses:
        for name, lines in engines.items():
            if not name.startswith(" "):
                misses(cases, name, lines)
    if args.kingfisher_perf:
        if kf is None:
            print("Kingfisher is not installed: no timings")
        else:
            kingfisher_perf(args.megabytes)


if __name__ == "__main__":
    main()
