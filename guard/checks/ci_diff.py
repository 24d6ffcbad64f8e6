"""Both sides of a change's CI as jobs, and what a job gained: computed once per change."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guard.checks.changeio import file_sides, old_path, per_change
from guard.ci.github import parse_action, parse_workflow
from guard.ci.gitlab import _gitlab_doc, gitlab_includes, parse_gitlab
from guard.ci.jobs import CiSide, Job, Perms, _as_str, ci_kind
from guard.model import Change
from guard.safeyaml import DocumentError, load_yaml_all


class _SideTexts:
    """One side's file texts, read only for the paths asked for: a change of 300 source files and
    one workflow reads one blob, not 600."""

    def __init__(self, change: Change, old: bool) -> None:
        self.change = change
        self.old = old
        self.by_path = {(old_path(f) if old else f.path): f for f in change.files}
        self.texts: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def read(self, path: str) -> str | None:
        """The text at `path` on this side; None when absent or unreadable (the reason in errors)."""
        if path in self.texts:
            return self.texts[path]
        f = self.by_path.get(path)
        if f is None or path in self.errors:
            return None
        sides = file_sides(self.change, f)
        text = sides.old if self.old else sides.new
        if text is not None:
            self.texts[path] = text
        elif (f.old_blob if self.old else f.new_blob) is not None and sides.error:
            self.errors[path] = sides.error
        return text


def _defined_vars(doc: Any) -> set[str]:
    """Names given a value in the file itself (top level or in a job): not secrets from settings."""
    if not isinstance(doc, dict):
        return set()
    jobs = [j for j in doc.values() if isinstance(j, dict)]
    # id_tokens and secrets: the job defines these variables itself (from the IdP / the vault)
    blocks = [doc.get("variables")] + [j.get(k) for j in jobs for k in ("variables", "id_tokens", "secrets")]
    return {_as_str(k) for b in blocks if isinstance(b, dict) for k in b}


def build_side(change: Change, old: bool) -> CiSide:
    """Parse every CI file of one side; GitLab includes are followed among the changed files."""
    side = CiSide()
    candidates = {f.path if not old else old_path(f) for f in change.files}
    kinds = {p: k for p in candidates if (k := ci_kind(p))}
    texts = _SideTexts(change, old)
    docs: dict[str, list[Any]] = {}

    def parse(path: str) -> None:
        if path in docs or path in side.errors:
            return
        text = texts.read(path)
        if path in texts.errors:
            side.errors[path] = DocumentError(texts.errors[path], path)
            return
        if text is None:
            return
        try:
            docs[path] = load_yaml_all(text, path)
        except DocumentError as e:
            side.errors[path] = e

    for p in kinds:
        parse(p)
    # Follow local includes (to a fixpoint): an included file is GitLab CI wherever it lives.
    for _ in range(5):
        patterns = [
            pat
            for p, k in kinds.items()
            if k == "gitlab" and p in docs
            for pat in gitlab_includes(_gitlab_doc(docs[p]))
        ]
        new = {
            p for p in candidates if p not in kinds and any(fnmatch.fnmatchcase(p, pat) for pat in patterns)
        }
        if not new:
            break
        for p in new:
            kinds[p] = "gitlab"
            parse(p)
    side.kinds = kinds
    side.texts = {p: texts.texts[p] for p in kinds if p in texts.texts}
    gitlab: dict[str, Any] = {}
    for path, kind in sorted(kinds.items()):
        if path not in docs:
            continue
        if kind == "workflow":
            jobs, callable_ = parse_workflow(_gitlab_doc(docs[path]), path)
            side.jobs.extend(jobs)
            if callable_:
                side.callables.add(path)
        elif kind == "action":
            side.jobs.extend(parse_action(_gitlab_doc(docs[path]), path))
        else:
            gitlab[path] = _gitlab_doc(docs[path])
            side.defined_vars |= _defined_vars(gitlab[path])
    side.jobs.extend(parse_gitlab(gitlab))
    return side


@dataclass
class CiDiff:
    """Base and head sides, with job matching across moves, renames and splits."""

    base: CiSide
    head: CiSide
    renames: dict[str, str]  # head path -> base path

    def __post_init__(self) -> None:
        self._base_at = {j.key: j for j in self.base.jobs}
        self._head_at = {j.key: j for j in self.head.jobs}
        self._callers = {
            j.uses[0].lstrip("./"): j for j in self.head.jobs if j.uses and j.uses[0].startswith("./")
        }
        self._vacated = [b for b in self.base.jobs if b.platform == "github" and self._moved_away(b)]

    def _moved_away(self, b: Job) -> bool:
        """A base job whose place is now empty, or only calls a local reusable workflow."""
        h = self._head_at.get((self._forward(b.path), b.id))
        return h is None or (h.uses is not None and h.uses[0].startswith("./") and not h.commands[1:])

    def _forward(self, base_path: str) -> str:
        for new, old in self.renames.items():
            if old == base_path:
                return new
        return base_path

    def base_workflow_perms(self, job: Job) -> Perms | None:
        """The workflow-level block the head job's workflow already had in the base, if any."""
        path = self.renames.get(job.path, job.path)
        return next(
            (b.perms for b in self.base.jobs if b.path == path and b.perms and b.perms.workflow_level), None
        )

    def moved_within_file(self, job: Job, has: Callable[[Job], bool]) -> bool:
        """A rewritten release workflow: its jobs are split or renamed, and a grant the file's base
        jobs held passes to new jobs. Not new when no more jobs of the file hold it than before."""
        path = self.renames.get(job.path, job.path)
        before = sum(1 for b in self.base.jobs if b.path == path and has(b))
        now = sum(1 for h in self.head.jobs if h.path == job.path and has(h))
        return before > 0 and now <= before

    def counterpart(self, job: Job) -> Job | None:
        """The base job this head job was: same place, else (GitLab) same name, else a moved job."""
        same = self._base_at.get((self.renames.get(job.path, job.path), job.id))
        if same is not None:
            return same
        if job.platform == "gitlab":  # job names are global across a pipeline's includes
            return next((b for b in self.base.jobs if b.platform == "gitlab" and b.id == job.id), None)
        sig = job.signature()
        caller = self._callers.get(job.path)
        for b in self._vacated:
            if b.id == job.id or (sig and b.signature() == sig):
                return b
            if caller is not None and (self.renames.get(caller.path, caller.path), caller.id) == b.key:
                return b
        return None


def ci_diff(change: Change) -> CiDiff:
    def compute() -> CiDiff:
        renames = {f.path: f.old_path for f in change.files if f.old_path and f.old_path != f.path}
        return CiDiff(build_side(change, old=True), build_side(change, old=False), renames)

    return per_change(change, "ci_diff", compute)
