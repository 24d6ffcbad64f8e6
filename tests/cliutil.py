"""The one way tests run the CLI in-process (click's CliRunner over guard.cli:main)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from guard.cli import main


def cli(args: Sequence[str], env: Mapping[str, str | None] | None = None, **kw: Any) -> Result:
    """`pipeline-guard ARGS` with `env` added to (or, for None values, removed from) the environment."""
    return CliRunner().invoke(main, list(args), env=env, **kw)


def check_json(repo: Path, base: str = "main") -> tuple[int, dict[str, Any]]:
    """`pipeline-guard check --format json` over `repo` against `base`: exit code and the parsed report."""
    r = cli(["check", "--repo", str(repo), "--base", base, "--format", "json"])
    assert r.stdout, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return r.exit_code, data
