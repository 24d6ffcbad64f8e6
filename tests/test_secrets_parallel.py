"""The raw-hunk scan split across two processes finds exactly what one process finds, and loses
nothing when the child fails."""

from __future__ import annotations

import os

import pytest

from guard.secrets import parallel
from guard.secrets.engine import scan_patch

GHP = "ghp_" + "Vb7Nm3Qw8Er2Ty6Ui1Op5As9Df4Gh0Jk3Lz7X"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9X"


def _jobs() -> list[tuple[str, bytes]]:
    out = []
    for i in range(40):
        lines = [f"+x_{i}_{k} = compute({k})" for k in range(30 + 7 * i)]
        if i % 3 == 0:
            lines.insert(i % 20, f"+TOKEN = '{GHP}'")
        if i % 5 == 0:
            lines.append(f'+STRIPE_KEY = "{STRIPE}"')
        out.append((f"src/m{i}.py", (f"@@ -0,0 +1,{len(lines)} @@\n" + "\n".join(lines)).encode()))
    return out


def test_two_processes_find_what_one_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _jobs()
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    split = parallel.scan_patches(jobs)
    assert forks == [1]  # the split really ran
    assert split == [scan_patch(path, patch) for path, patch in jobs]
    assert sum(len(hits) for hits, _ in split) == 14 + 8


def test_a_failed_child_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _jobs()
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_child", lambda *a: os._exit(1))  # dies before answering
    assert parallel.scan_patches(jobs) == [scan_patch(path, patch) for path, patch in jobs]


def test_small_changes_stay_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked for a small change"))
    jobs = _jobs()[:3]
    assert parallel.scan_patches(jobs) == [scan_patch(path, patch) for path, patch in jobs]


def test_halves_balance_bytes() -> None:
    jobs = [("a", b"x" * 100), ("b", b"x" * 60), ("c", b"x" * 50), ("d", b"x" * 10)]
    mine, theirs = parallel._halves(jobs)
    assert sorted(mine + theirs) == [0, 1, 2, 3]
    sizes = [sum(len(jobs[i][1]) for i in side) for side in (mine, theirs)]
    assert abs(sizes[0] - sizes[1]) <= 10
