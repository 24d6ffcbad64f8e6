from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gitutil import Repo  # noqa: E402


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A fresh repository with one human commit on main."""
    r = Repo(tmp_path / "repo")
    r.commit("initial", files={"README.md": "hello\n", "src/app.py": "print('hi')\n"})
    return r
