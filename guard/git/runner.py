"""Running git: one process per question, streamed output, the time budget, never a prompt.

Works in working trees, bare repositories and pre-receive quarantine: git subprocesses inherit the
environment untouched (`GIT_DIR`, `GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`,
`GIT_QUARANTINE_PATH`); scrubbing it makes every quarantined object unreadable."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from guard import budget
from guard.errors import InternalError, UsageError
from guard.git.catfile import CatFile
from guard.git.parse import Reader

SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


NETWORK_TIMEOUT = 300.0  # seconds one fetch may take before the door notes it and goes on
LINE_BUDGET = 96 << 20


def _widen_pipe(stream: IO[bytes]) -> None:
    """Let git run up to 1 MiB ahead of the parser (Linux pipes hold 64 KiB by default, so git
    would stop each time the parser is busy). Elsewhere, or when refused, the default stays."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


class GitRunner:
    """The git binary, run in a repository with the inherited environment (quarantine variables must
    reach git), bounded by the active time budget, never prompting."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        where = str(path) if path is not None else os.environ.get("GIT_DIR", ".")
        cwd = Path(where)
        if not cwd.is_dir():
            raise UsageError("not a git repository (no such directory)", where=where)
        proc = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir", "--is-bare-repository"], cwd=cwd, capture_output=True
        )
        out = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        if proc.returncode != 0 or len(out) < 2:
            raise UsageError("not a git repository", where=where)
        self.git_dir = Path(out[0])
        self.bare = out[1] == "true"
        top = None
        if not self.bare:
            top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True)
        self.path = Path(top.stdout.decode("utf-8", "surrogateescape").strip()) if top else self.git_dir
        self._cat = CatFile(self.path)
        # Hunk bytes one change may hold before files spill (re-read from git one at a time).
        self.line_budget = int(os.environ.get("PIPELINE_GUARD_LINE_BUDGET", str(LINE_BUDGET)))

    def close(self) -> None:
        self._cat.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to tidy
            self._cat.close()

    def proc(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run git with the inherited environment; killed when the active time budget runs out."""
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.path,
                input=input,
                capture_output=True,
                env=None,  # inherit: quarantine variables must reach git
                timeout=budget.timeout(),
            )
        except subprocess.TimeoutExpired:
            raise budget.BudgetExceeded(f"time budget exhausted while running git {args[0]}") from None

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        """Run git with the inherited environment; bytes out."""
        proc = self.proc(*args, input=input)
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise InternalError(f"git {args[0]} failed: {err[-1] if err else proc.returncode}")
        return proc.stdout

    def stream(self, *args: str) -> Iterator[bytes]:
        """Yield NUL-separated records of a git command's output without holding it all."""
        proc = subprocess.Popen(["git", *args], cwd=self.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        _widen_pipe(proc.stdout)
        # read1: what git has written so far, without waiting for a full block. A record longer
        # than a block is kept in pieces and joined once (no quadratic re-splitting of a huge message).
        read = getattr(proc.stdout, "read1", proc.stdout.read)
        pieces: list[bytes] = []
        try:
            while True:
                budget.check(f"git {args[0]}")
                block = read(1 << 20)
                if not block:
                    break
                if b"\0" not in block:
                    pieces.append(block)
                    continue
                first, *records, last = block.split(b"\0")
                pieces.append(first)
                yield b"".join(pieces)
                yield from records
                pieces = [last]
        except BaseException:  # budget exhausted or the consumer stopped: do not leave git running
            proc.kill()
            proc.wait()
            raise
        tail = b"".join(pieces)
        if tail:
            yield tail
        err = proc.stderr.read() if proc.stderr else b""
        if proc.wait() != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()
            raise InternalError(f"git {args[0]} failed: {last[-1] if last else proc.returncode}")

    @contextlib.contextmanager
    def piped(self, *args: str) -> Iterator[Reader]:
        """A reader over a git command's stdout, parsed as it arrives; git is killed on any error
        (the budget running out included) and a failure exit is an InternalError."""
        proc = subprocess.Popen(["git", *args], cwd=self.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            yield Reader(stream=proc.stdout)
            proc.stdout.read()  # drain what the parser did not need
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        err = proc.stderr.read()
        if proc.wait() != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()
            raise InternalError(f"git {args[0]} failed: {last[-1] if last else proc.returncode}")

    def network(self, *args: str, timeout: float = NETWORK_TIMEOUT) -> tuple[bool, str]:
        """A git command that may talk to a remote (fetch, remote get-url...): (succeeded, the last
        line git printed on stderr). Never prompts (GIT_TERMINAL_PROMPT=0: a fetch that needs
        credentials fails at once instead of hanging a CI job) and is killed after `timeout`."""
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        try:
            proc = subprocess.run(
                ["git", *args], cwd=self.path, capture_output=True, env=env, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return False, f"git {args[0]} timed out after {timeout:g} s"
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return proc.returncode == 0, lines[-1] if lines else ""

    @property
    def is_shallow(self) -> bool:
        return (self.git_dir / "shallow").exists()
