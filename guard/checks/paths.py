"""Path rules: gitignore/CODEOWNERS-style globs over the old and new path of every file change.

Matching both sides catches a rename or delete out of a protected folder; a new symlink whose
target resolves into a protected path is caught too (nothing follows the link: the target is read
from the blob). Mode changes (executable bit, symlink, submodule) count as touching the path.

By default (`match.case_insensitive`) patterns and paths are both NFC-normalised and case-folded
before matching: a macOS or Windows checkout opens `.Claude/settings.json` as
`.claude/settings.json`, and an NFD-encoded name as its NFC twin.
"""

from __future__ import annotations

import posixpath

from guard.checks.interface import CheckContext
from guard.globs import path_matcher
from guard.model import Change, FileChange, Finding
from guard.policy import PathMatch, Policy, Rule


def _patterns(rule: Rule, m: PathMatch, policy: Policy, change: Change) -> tuple[str, ...]:
    pats = list(m.paths) + policy.group_paths(m.groups)
    if m.guard_files:
        pats.extend("/" + p.lstrip("/") for p in change.guard_files)
    if m.policy_files:
        pats.extend("/" + p for p in policy.verdict_files())
    return tuple(pats)


def symlink_target(change: Change, f: FileChange) -> str | None:
    """The repository-relative path a new or changed symlink points to (never followed)."""
    if not f.is_symlink or not f.new_blob or change.blobs is None:
        return None
    raw = change.blobs.read_blob(f.new_blob, max_bytes=4096)
    if raw is None:
        return None
    target = raw.decode("utf-8", errors="backslashreplace").strip()
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(f.path), target))
    return joined.lstrip("/")


def _describe(f: FileChange) -> str:
    if f.status == "renamed" and f.old_path:
        return f"renamed {f.old_path} -> {f.path}"
    if f.status == "copied" and f.old_path:
        return f"copied {f.old_path} -> {f.path}"
    if f.is_submodule:
        return f"submodule {f.status} {f.path}"
    if f.is_symlink:
        return f"symlink {f.status} {f.path}"
    if f.mode_changed:
        return f"mode {f.old_mode} -> {f.new_mode} on {f.path}"
    return f"{f.status} {f.path}"


def check(ctx: CheckContext, rule: Rule) -> list[Finding]:
    change, policy = ctx.change, ctx.policy
    m: PathMatch = rule.matcher()
    pats = _patterns(rule, m, policy, change)
    if not pats:
        return []
    hit = path_matcher(pats, m.case_insensitive)
    excluded = path_matcher(tuple(m.exclude), m.case_insensitive) if m.exclude else None
    findings: list[Finding] = []
    for f in change.files:
        if m.statuses and f.status not in m.statuses:
            continue
        hits = [p for p in f.paths if hit(p) and not (excluded and excluded(p))]
        via = ""
        if not hits and m.symlinks_into:
            target = symlink_target(change, f)
            # A link to a protected folder itself reaches everything under it.
            if target and (hit(target) or hit(f"{target}/-")):
                hits, via = [f.path], f" (symlink into {target})"
        if not hits:
            continue
        commits = tuple(dict.fromkeys(c for p in f.paths for c in change.commits_touching(p)))
        text = rule.message or f"{rule.id}: protected path changed"
        findings.append(
            Finding(
                rule=rule.id,
                kind="path",
                action=rule.action,
                message=f"{text} ({_describe(f)}{via})",
                path=f.path,
                line=None,
                commit=commits[0] if commits else None,
                commits=commits,
                category="protected-path",
                id=f"{rule.id}:{f.path}",
            )
        )
    return findings
