"""Errors and exit codes: the documented contract (README "Exit codes"), importable by anything.

Every failure a user can meet is a GuardError with a one-line message naming what and where;
guard/cli.py turns it into `pipeline-guard: error: ...` and its exit code, never a traceback.
"""

from __future__ import annotations

EXIT_ALLOW = 0
EXIT_GATED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class GuardError(Exception):
    """An error with a clear one-line message and a documented exit code. Never a traceback."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class UsageError(GuardError):
    """Bad flag, invalid policy, unknown ref: exit 2."""

    exit_code = EXIT_USAGE


class InternalError(GuardError):
    """Something we could not read or compute: exit 3 (fail closed)."""

    exit_code = EXIT_INTERNAL
