"""Helpers shared by the permission/release tests (no tests here).

Two ways to build a Change: a real git repository (`git_change`, through GitRepo.build_change) and,
for the large labelled set, a Change over a dict-backed BlobReader (`dict_change`): the same
Change/FileChange objects the engine reads, with blobs served from memory.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from gitutil import Repo

from guard.checks import permissions, release
from guard.checks.interface import CheckContext
from guard.diff import AddedLine, AddedLines
from guard.git.repo import GitRepo
from guard.model import Change, Commit, FileChange, Finding, Person, RefUpdate
from guard.policy import Policy, Rule, builtin_policy

DATA = Path(__file__).parent / "data" / "permissions"
Files = dict[str, str]


class DictBlobs:
    """A BlobReader over an in-memory object store."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, text: str) -> str:
        data = text.encode()
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        self.objects[sha] = data
        return sha

    def read_blob(self, sha: str, max_bytes: int | None = None) -> bytes | None:
        data = self.objects.get(sha)
        if data is None or (max_bytes is not None and len(data) > max_bytes):
            return None
        return data


def _added(old: str | None, new: str) -> list[AddedLine]:
    before = set((old or "").splitlines())
    return [AddedLine(i, t) for i, t in enumerate(new.splitlines(), 1) if t not in before]


def dict_change(
    before: Files,
    after: Files,
    renames: dict[str, str] | None = None,
    ref_updates: list[RefUpdate] | None = None,
) -> Change:
    """base/head trees as dicts; `renames` maps new path -> old path."""
    renames = renames or {}
    blobs = DictBlobs()
    files: list[FileChange] = []
    old_of = {new: old for new, old in renames.items()}
    renamed_from = set(renames.values())
    for path in sorted(set(before) | set(after)):
        if path in renamed_from and path not in after:
            continue
        src = old_of.get(path, path)
        old, new = before.get(src), after.get(path)
        if old == new and src == path:
            continue
        if new is None:
            assert old is not None
            files.append(FileChange(path, "deleted", old_path=path, old_blob=blobs.put(old)))
            continue
        status = "renamed" if src != path else ("modified" if old is not None else "added")
        files.append(
            FileChange(
                path,
                status,  # type: ignore[arg-type]
                old_path=src,
                old_blob=blobs.put(old) if old is not None else None,
                new_blob=blobs.put(new),
                lines=AddedLines(_added(old, new)),
            )
        )
    who = Person("Alice", "alice@example.com")
    commit = Commit("c" * 40, ("b" * 40,), who, who, 0, 0, "change", files=files)
    return Change(
        door="local",
        head="c" * 40,
        base="b" * 40,
        commits=[commit],
        files=files,
        ref_updates=ref_updates or [],
        blobs=blobs,
    )


def git_change(tmp: Path, before: Files, after: Files, renames: dict[str, str] | None = None) -> Change:
    """The same, through a real repository: commit `before`, then `after` (renames via git mv)."""
    repo = Repo(tmp / "repo")
    base = repo.commit("base", files=dict(before) or {"README.md": "x\n"})
    for new, old in (renames or {}).items():
        (repo.path / new).parent.mkdir(parents=True, exist_ok=True)
        repo.git("mv", old, new)
    for path in before:
        if path not in after and path not in (renames or {}).values():
            repo.git("rm", "-q", path)
    for path, text in after.items():
        repo.write(path, text)
    repo.commit("after", allow_empty=True)
    return GitRepo(repo.path).build_change(base, "HEAD")


def rule(kind: str, **match: Any) -> Rule:
    return Rule(id=f"test-{kind}", kind=kind, action="warn", actors=["any"], match=match)  # type: ignore[arg-type]


POLICY: Policy = builtin_policy()


def findings(change: Change, kind: str | None = None, **match: Any) -> list[Finding]:
    out: list[Finding] = []
    for k, mod in (("permission", permissions), ("release", release)):
        if kind in (None, k):
            out.extend(mod.check(CheckContext(change, POLICY), rule(k, **match)))
    return out


def triples(fs: list[Finding]) -> set[tuple[str | None, str | None, int | None]]:
    return {(f.category, f.path, f.line) for f in fs}


def load_case(path: Path) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data.setdefault("before", {})
    data.setdefault("after", {})
    data.setdefault("renames", {})
    data.setdefault("expect", [])
    data["name"] = path.stem
    return data


def cases() -> list[dict[str, Any]]:
    return [load_case(p) for p in sorted(DATA.glob("*.yml"))]
