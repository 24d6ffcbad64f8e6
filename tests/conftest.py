from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gitutil import Repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A fresh repository with one human commit on main."""
    r = Repo(tmp_path / "repo")
    r.commit("initial", files={"README.md": "hello\n", "src/app.py": "print('hi')\n"})
    return r


def node_modules() -> Path:
    """The npm stand-ins .ci/run installs. Missing ones fail the test (never a silent skip)."""
    import os

    root = Path(
        os.environ.get("PG_NODE_MODULES", Path(__file__).parent.parent / ".ci/cache/node/node_modules")
    )
    if not root.is_dir():
        pytest.fail(f"npm stand-ins not installed at {root}: run `bash .ci/run` (or set PG_NODE_MODULES)")
    return root
