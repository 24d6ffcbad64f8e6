"""Recall and false-alarm rate of the CI permission/release detectors on real CI changes.

    python benchmarks/ci_false_alarms.py            # figures on the committed corpus
    python benchmarks/ci_false_alarms.py --list     # also every alarm and miss, by repo@sha

The corpus (tests/data/permissions/real-ci/labels.yml, texts in snippets.json.gz) is 200
real commits touching .github/workflows in pypa/pip, psf/black and pallets/flask, hand-labelled by
the team. An alarm is any step-up category (the default policy's agent rules: everything but
unpinned-action and agent-instructions) from permissions.py or release.py. Each commit is judged
with its own CI files only (trusted reach from the files it does not touch is not modelled).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_permissions_helpers import dict_change  # noqa: E402  (the same in-memory Change the tests use)

from guard.checks import permissions, release  # noqa: E402

DATA = ROOT / "tests" / "data" / "permissions" / "real-ci"
WARN_ONLY = frozenset({"unpinned-action", "agent-instructions"})
TARGET_RECALL, TARGET_FALSE_ALARMS = 0.95, 0.03


@dataclass
class Figures:
    positives: int
    negatives: int
    caught: list[str]
    missed: list[str]
    false_alarms: list[tuple[str, list[str]]]

    @property
    def recall(self) -> float:
        return len(self.caught) / self.positives if self.positives else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return len(self.false_alarms) / self.negatives if self.negatives else 0.0


def alarms(before: dict[str, str], after: dict[str, str], renames: dict[str, str]) -> list[str]:
    change = dict_change(before, after, renames)
    found = permissions.candidates(change) + release.candidates(change)
    return sorted({c.category for c in found if c.category not in WARN_ONLY})


def measure() -> Figures:
    labels = yaml.safe_load((DATA / "labels.yml").read_text())
    with gzip.open(DATA / "snippets.json.gz", "rt") as f:
        texts = json.load(f)
    fig = Figures(0, 0, [], [], [])
    for case in labels:
        t = texts[case["id"]]
        got = alarms(t["before"], t["after"], t["renames"])
        if case["escalation"]:
            fig.positives += 1
            (fig.caught if got else fig.missed).append(case["id"])
        else:
            fig.negatives += 1
            if got:
                fig.false_alarms.append((case["id"], got))
    return fig


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print every false alarm and miss")
    args = ap.parse_args()
    fig = measure()
    print(
        f"real CI changes: {fig.positives + fig.negatives} ({fig.positives} escalations)\n"
        f"recall {fig.recall:.3f} (target >= {TARGET_RECALL}), "
        f"false alarms {fig.false_alarm_rate:.2%} = {len(fig.false_alarms)}/{fig.negatives} "
        f"(target <= {TARGET_FALSE_ALARMS:.0%})"
    )
    if args.list:
        for sha, cats in fig.false_alarms:
            print(f"  false alarm {sha}: {', '.join(cats)}")
        for sha in fig.missed:
            print(f"  missed {sha}")
    return 0 if fig.recall >= TARGET_RECALL and fig.false_alarm_rate <= TARGET_FALSE_ALARMS else 1


if __name__ == "__main__":
    raise SystemExit(main())
