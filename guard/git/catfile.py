"""One persistent `git cat-file --batch-command` per repository: blobs by id, in bare repositories
and pre-receive quarantine alike (GitPython's GitDB backend ignores alternates)."""

from __future__ import annotations

import subprocess
from pathlib import Path


class CatFile:
    """One persistent `git cat-file --batch-command` (git >= 2.36): header first, content on demand.

    Inherits the environment, so quarantined objects and alternates are found like any other."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                ["git", "cat-file", "--batch-command"],
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self.proc

    def _ask(self, command: str) -> tuple[subprocess.Popen[bytes], list[bytes]]:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(command.encode() + b"\n")
        proc.stdin.flush()
        return proc, proc.stdout.readline().split()

    def read(self, sha: str, max_bytes: int | None) -> bytes | None:
        _, head = self._ask(f"info {sha}")
        if len(head) != 3 or head[1] != b"blob":
            return None  # "<sha> missing", a tree, a commit...
        if max_bytes is not None and int(head[2]) > max_bytes:
            return None
        proc, head = self._ask(f"contents {sha}")
        assert proc.stdout is not None
        if len(head) != 3:
            return None
        data = proc.stdout.read(int(head[2]))
        proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        self.proc = None
