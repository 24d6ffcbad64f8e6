"""A huge diff is never held whole: past a budget, files `spill` and their added lines are read
again from git one file at a time. With every file spilled (a 1-byte budget), the judgement must
be exactly the one made with everything held."""

from __future__ import annotations

import json

import pytest
from cliutil import check_json
from gitutil import CLAUDE_TRAILER, Repo

from guard.diff import added_lines
from guard.git.repo import GitRepo

TOKEN = "ghp_" + "Vb7Nm3Qw8Er2Ty6Ui1Op5As9Df4Gh0Jk3Lz7X"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9X"


@pytest.fixture
def history(repo: Repo) -> Repo:
    repo.commit("base", files={"app/config.py": "DEBUG = False\n" * 20, "AGENTS.md": "Be careful.\n"})
    repo.git("checkout", "-q", "-b", "work")
    repo.commit(f"add settings\n\n{CLAUDE_TRAILER}", files={
        "app/settings.py": "import os\n\n" + f'TOKEN = "{TOKEN}"\n',
        "app/config.py": "DEBUG = False\n" * 10 + f"STRIPE_KEY = '{STRIPE}'\n" + "DEBUG = False\n" * 10,
        "AGENTS.md": "Be careful.\nRun the tests first.\n",
    })  # fmt: skip
    repo.commit("remove the token again", files={"app/settings.py": "import os\n"})
    return repo


def key(data: dict[str, object]) -> list[tuple[object, ...]]:
    return sorted((f["rule"], f["category"], f["path"], f["line"], f["commit"]) for f in data["findings"])  # type: ignore[index,union-attr]


def test_spilled_files_are_judged_exactly_as_held_ones(
    history: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = check_json(history.path)[1]
    monkeypatch.setenv("PIPELINE_GUARD_LINE_BUDGET", "1")
    spilled = check_json(history.path)[1]
    assert key(spilled) == key(held)
    cats = {f["category"] for f in spilled["findings"]}  # type: ignore[union-attr,index]
    assert {"github-token", "stripe-key", "agent-instructions"} <= cats
    assert TOKEN not in json.dumps(spilled)


def test_spilled_lines_are_read_again_one_file_at_a_time(
    history: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_GUARD_LINE_BUDGET", "1")
    git = GitRepo(history.path)
    change = git.build_change("main", "work")
    config = next(f for f in change.files if f.path == "app/config.py")
    assert [(a.number, a.text) for a in added_lines(change, config)] == [(11, f"STRIPE_KEY = '{STRIPE}'")]
    monkeypatch.delenv("PIPELINE_GUARD_LINE_BUDGET")
    whole = GitRepo(history.path).build_change("main", "work")
    for a, b in zip(change.commits, whole.commits, strict=True):
        for fa, fb in zip(a.files, b.files, strict=True):
            assert not fb.spilled and fa.spilled == (fb.patch is not None)  # only files with kept hunks spill
            assert fa.added == [] and added_lines(change, fa) == fb.added
