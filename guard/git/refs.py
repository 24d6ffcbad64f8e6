"""Resolving names to objects, by full ref name wherever trust is decided: a tag named like the
default branch never stands in for it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence

from guard.errors import InternalError, UsageError
from guard.git.runner import SHA, GitRunner


class GitRefs(GitRunner):
    """Names to objects: full ref names, merge-bases, the default branch (trust is decided here)."""

    def resolve(self, rev: str, what: str = "revision") -> str:
        """A revision -> full commit id, or a usage error naming it (exit 2)."""
        if not rev or rev.startswith("-") or "\n" in rev or "\0" in rev:
            raise UsageError(f"invalid {what} {rev!r}")
        self._refuse_ambiguous(rev, what)
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            cwd=self.path,
            capture_output=True,
        )
        if proc.returncode != 0:
            hint = ""
            if self.is_shallow:
                hint = " (this is a shallow clone: fetch more history, e.g. `git fetch --unshallow`)"
            raise UsageError(f"unknown {what} {rev!r}{hint}")
        return proc.stdout.decode().strip()

    def _refuse_ambiguous(self, rev: str, what: str) -> None:
        """A short name that is both a tag and a branch is a usage error, never git's pick (the tag);
        a full name (`refs/...`) must exist exactly, or git would take `refs/tags/<it>`."""
        name = re.split(r"[~^@:]", rev, maxsplit=1)[0]
        if name.startswith("refs/"):  # exactly that ref: never `refs/tags/refs/heads/main` instead
            if self.ref_commit(name) is None:
                raise UsageError(f"unknown {what} {rev!r} (no ref of that full name)")
            return
        if not name or name == "HEAD" or SHA.match(name):
            return
        # git's lookup order, plus the remote-tracking branch a CI clone has instead of a local one
        cands = [f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}", f"refs/remotes/{name}"]
        cands.append(f"refs/remotes/origin/{name}")
        out = self.run("for-each-ref", "--format=%(refname)", "--end-of-options", *cands, check=False)
        found = sorted(set(out.decode("utf-8", "replace").splitlines()) & set(cands))
        # A branch named like an abbreviated id wins over the commit in git's lookup: refuse it too.
        if len(found) > 1 or (found and re.fullmatch(r"[0-9a-f]{4,63}", name)):
            raise UsageError(f"{what} {rev!r} is ambiguous ({', '.join(found)}): name it by its full ref")

    def exists(self, rev: str) -> bool:
        try:
            self.resolve(rev)
            return True
        except UsageError:
            return False

    def ref_commit(self, full: str) -> str | None:
        """The commit the ref named exactly `full` (`refs/...`) points to, or None.

        Never `rev-parse <name>`: when `refs/remotes/origin/main` is missing, git's DWIM rules
        would take `refs/tags/refs/remotes/origin/main`, a tag the change can create."""
        if not full.startswith("refs/") or any(c in full for c in "\n\0 ~^:?*[\\") or ".." in full:
            return None
        out = self.run(
            "for-each-ref", "--format=%(objectname) %(refname)", "--end-of-options", full, check=False
        )
        for line in out.decode("utf-8", "replace").splitlines():
            sha, _, name = line.partition(" ")
            if name == full:
                return self.peel(sha)
        return None

    def branch_ref(self, branch: str) -> str | None:
        """A branch name -> its full ref, `refs/remotes/origin/<b>` (what CI clones fetch), else
        `refs/heads/<b>`; None when neither exists. A tag of that name never stands in for it."""
        name = branch.removeprefix("refs/heads/")
        for full in (f"refs/remotes/origin/{name}", f"refs/heads/{name}"):
            if self.ref_commit(full) is not None:
                return full
        return None

    def oid(self, name: str) -> str:
        """A full ref name or a full object id -> commit id; anything else is a bug (fails closed).

        Short names (`main`, `origin/main`, `HEAD`, an abbreviated id) are refused: git resolves
        them as tags first, and a branch may be named like an abbreviated id."""
        if SHA.match(name):
            return name
        if name.startswith("refs/"):
            sha = self.ref_commit(name)
            if sha is None:
                raise InternalError(f"ref {name} does not exist")
            return sha
        raise InternalError(f"refusing to resolve the short name {name!r}: trust needs full ref names")

    def merge_base(self, a: str, b: str) -> str | None:
        """The merge-base of two full ref names or object ids (see `oid`)."""
        proc = self.proc("merge-base", "--end-of-options", self.oid(a), self.oid(b))
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def is_ancestor(self, a: str, b: str) -> bool:
        return (
            self.proc("merge-base", "--is-ancestor", "--end-of-options", self.oid(a), self.oid(b)).returncode
            == 0
        )

    def default_branch(self) -> str | None:
        """The default branch's full ref: origin/HEAD's target, else the first of
        `refs/remotes/origin/{main,master}`, `refs/heads/{main,master}` that exists."""
        proc = self.proc("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
        target = proc.stdout.decode().strip() if proc.returncode == 0 else ""
        if target.startswith("refs/remotes/origin/") and self.ref_commit(target) is not None:
            return target
        for cand in (
            "refs/remotes/origin/main",
            "refs/remotes/origin/master",
            "refs/heads/main",
            "refs/heads/master",
        ):
            if self.ref_commit(cand) is not None:
                return cand
        return None

    def upstream(self) -> str | None:
        """The current branch's upstream as a full ref name (`refs/remotes/origin/feature`)."""
        proc = self.proc("rev-parse", "--symbolic-full-name", "@{upstream}")
        full = proc.stdout.decode().strip() if proc.returncode == 0 else ""
        return full if full.startswith("refs/") and self.ref_commit(full) is not None else None

    def current_branch(self) -> str | None:
        proc = subprocess.run(
            ["git", "symbolic-ref", "--quiet", "--short", "HEAD"], cwd=self.path, capture_output=True
        )
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def ref_tips(self, prefix: str = "refs/heads/") -> dict[str, str]:
        """Ref name -> the object it points to, for refs under `prefix` (as the hook sees them)."""
        out = self.run("for-each-ref", "--format=%(objectname) %(refname)", prefix).decode()
        return {name: sha for sha, _, name in (ln.partition(" ") for ln in out.splitlines()) if name}

    def peel(self, sha: str) -> str | None:
        """The commit an object id names (a commit, or a tag pointing at one); None otherwise."""
        if not SHA.match(sha):
            return None
        out = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{sha}^{{commit}}", check=False
        )
        return out.decode().strip() or None

    def object_type(self, sha: str) -> str | None:
        out = self.run("cat-file", "-t", sha, check=False) if SHA.match(sha) else b""
        return out.decode().strip() or None

    def independent(self, shas: Sequence[str]) -> list[str]:
        """The commits among `shas` that no other one of them reaches (`merge-base --independent`)."""
        if len(shas) < 2:
            return list(shas)
        return self.run("merge-base", "--independent", *shas).decode().split()

    def octopus_base(self, shas: Sequence[str]) -> str | None:
        out = self.run("merge-base", "--octopus", *shas, check=False).decode().split()
        return out[0] if out else None

    def config_get(self, key: str) -> str | None:
        """A git config value as git resolves it for this repository (system, global, repo)."""
        out = self.run("config", "--get", key, check=False).decode().strip()
        return out or None
