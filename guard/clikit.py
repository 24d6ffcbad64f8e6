"""What every command shares: the one-line error and exit code, never a traceback; report writing."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from guard.errors import EXIT_INTERNAL, GuardError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> None:
    from guard.redact import redact_text

    click.echo(f"pipeline-guard: error: {redact_text(message)}", err=True)
    sys.exit(code)


def guarded(fn: F) -> F:
    """Every command: a clear one-line error and a documented exit code, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GuardError as e:
            suffix = ": failing closed" if e.exit_code == EXIT_INTERNAL else ""
            fail(f"{e}{suffix}", e.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted: failing closed", EXIT_INTERNAL)
        except RecursionError:
            fail("input nested too deeply: failing closed", EXIT_INTERNAL)
        except Exception as e:
            # Type and place only: an unexpected exception's text may quote the change (a secret).
            frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
            where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
            fail(f"internal error ({type(e).__name__}{where}): failing closed", EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


def write(text: str, output: str | None) -> None:
    """A rendered report (redacted by the renderers, from the model: see guard/redact.py)."""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise GuardError(f"cannot write report: {e.strerror}", where=output) from None
    else:
        click.echo(text, nl=False)
