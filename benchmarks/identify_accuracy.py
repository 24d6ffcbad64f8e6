"""Identification accuracy on the mined labelled set, with every miss and the reason for its label.

Writes tests/data/identity/mined.yml into a scratch repository with `git fast-import`, identifies
each commit as `identify` would, prints the figures (agent recall, humans flagged, automation told
apart, vendor right) and the misses grouped by cause: what went wrong, the form of the evidence
(author identity, AI trailer, generated line...) and the product. Not a timed test.

    python benchmarks/identify_accuracy.py [--data tests/data/identity/mined.yml] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_identify_mined import DATA, figures, load_mined, misses, predict, table  # noqa: E402


def cause(why: str, stratum: str, vendor: str) -> str:
    form = stratum.split(":")[1] if ":" in stratum else stratum
    return f"{why} · {form} · {vendor}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--markdown", action="store_true", help="misses as a Markdown list")
    args = ap.parse_args()
    if not args.data.is_file():
        print(f"error: no labelled set at {args.data}", file=sys.stderr)
        return 2
    items = load_mined(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        preds = predict(items, Path(tmp) / "repo")
    print(table(figures(items, preds)))
    groups: dict[str, list[str]] = defaultdict(list)
    for why, m, p in misses(items, preds):
        vendor = m.vendors[0] if m.vendors else m.label
        first = m.sample.message.splitlines()[0][:70] if m.sample.message else ""
        groups[cause(why, m.stratum, vendor)].append(f"{m.cite}: got {p.label} — {m.reason} — “{first}”")
    print(f"\nmisses: {sum(map(len, groups.values()))} in {len(groups)} causes")
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        print(f"\n{'### ' if args.markdown else ''}{key} ({len(groups[key])})")
        for line in groups[key]:
            print(f"- {line}" if args.markdown else f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
