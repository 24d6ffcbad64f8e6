"""The one way tests run the CLI in-process (click's CliRunner over guard.cli:main)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from click.testing import CliRunner, Result

from guard.cli import main


def cli(args: Sequence[str], env: Mapping[str, str | None] | None = None, **kw: Any) -> Result:
    """`pipeline-guard ARGS` with `env` added to (or, for None values, removed from) the environment."""
    return CliRunner().invoke(main, list(args), env=env, **kw)
