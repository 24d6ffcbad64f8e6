"""Real git repositories for tests: every test that reads git builds one with these helpers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

HUMAN = ("Alice Example", "alice@example.com")
CLAUDE_TRAILER = "Co-Authored-By: Claude <noreply@anthropic.com>"
COPILOT = ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com")
DEPENDABOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")


def git(cwd: Path | str, *args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> str:
    full = {**os.environ, **(env or {})}
    proc = subprocess.run(["git", *args], cwd=cwd, env=full, input=input, capture_output=True)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode(errors="replace").strip()


class Repo:
    """A throwaway repository with a `main` branch and helpers to commit as anyone."""

    def __init__(self, path: Path, bare: bool = False) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main", *(["--bare"] if bare else []))
        git(path, "config", "user.name", HUMAN[0])
        git(path, "config", "user.email", HUMAN[1])
        git(path, "config", "commit.gpgsign", "false")
        git(path, "config", "core.autocrlf", "false")

    def write(self, rel: str | bytes, content: str | bytes, mode: int | None = None) -> None:
        p = Path(os.fsdecode(self.path)) / os.fsdecode(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
        if mode is not None:
            p.chmod(mode)

    def symlink(self, rel: str, target: str) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(target)

    def commit(
        self,
        message: str = "change",
        *,
        files: dict[str, str | bytes] | None = None,
        author: tuple[str, str] = HUMAN,
        committer: tuple[str, str] | None = None,
        allow_empty: bool = False,
        when: str | None = None,
    ) -> str:
        """Commit `files` (and whatever else changed); `when` sets both author and committer dates."""
        for rel, content in (files or {}).items():
            self.write(rel, content)
        git(self.path, "add", "-A")
        c = committer or author
        env = {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_COMMITTER_NAME": c[0],
            "GIT_COMMITTER_EMAIL": c[1],
            **({"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when} if when else {}),
        }
        git(
            self.path,
            "commit",
            "-q",
            "--no-verify",
            "-m",
            message,
            *(["--allow-empty"] if allow_empty else []),
            env=env,
        )
        return self.head()

    def merge_branch(
        self, branch: str, message: str, files: dict[str, str | bytes], merge_message: str, **kw: Any
    ) -> tuple[str, str]:
        """A branch off main with one commit, merged into main with a merge commit: (its head, the merge)."""
        self.git("checkout", "-q", "-b", branch, "main")
        head = self.commit(message, files=files, **kw)
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--no-ff", "-m", merge_message, branch)
        return head, self.head()

    def head(self, rev: str = "HEAD") -> str:
        return git(self.path, "rev-parse", rev)

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return git(self.path, *args, env=env)


def agent_commit(repo: Repo, files: dict[str, str], branch: str = "agent/work") -> None:
    """On a new branch, one commit by a person with Claude as co-author: an agent's change."""
    repo.git("checkout", "-q", "-b", branch)
    repo.commit(f"tidy\n\n{CLAUDE_TRAILER}", files=files)


def agent_widens_gitlab_ci(repo: Repo, branch: str) -> Repo:
    """main holds a one-job .gitlab-ci.yml; on `branch` an agent adds a script line to it."""
    repo.commit("ci", files={".gitlab-ci.yml": "test:\n  script: [make]\n"})
    repo.git("checkout", "-q", "-b", branch)
    repo.commit(f"widen ci\n\n{CLAUDE_TRAILER}\n", files={".gitlab-ci.yml": "test:\n  script: [make, x]\n"})
    return repo
