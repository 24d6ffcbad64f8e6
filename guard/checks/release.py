"""Release-boundary rules: tags, release branches, version bumps, changelog releases, and publish or
deploy steps newly added (or re-enabled, or un-gated) in CI.

Categories: tag-created, tag-deleted, tag-moved, release-branch-push, protected-branch-deleted, force-push,
version-bump, changelog-release, publish-step, deploy-step, tag-push-step, release-keyword,
manual-gate-removed, tag-trigger, schedule-trigger, manifest-unparseable.

Diff-aware like the permission rules: a publish step counts when neither the job it sits in had
that tool before nor the very same step existed anywhere in the base CI (a step moved unchanged
between files is not new); a version counts when the project's own version changed, not when it
moved from one manifest to another and not when a dependency moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from guard.checks import ci_reach
from guard.checks.changeio import (
    Candidate,
    candidate,
    file_sides,
    glob_match,
    old_path,
    per_change,
    to_findings,
)
from guard.checks.ci_diff import CiDiff, ci_diff
from guard.checks.ci_reach import Reach
from guard.ci.jobs import Job, Loc, norm
from guard.ci.release_steps import classify, production_like
from guard.ci.versions import (
    CHANGELOG,
    ManifestError,
    Version,
    changelog_releases,
    may_declare_version,
    own_version,
)
from guard.model import Change, Finding

if TYPE_CHECKING:
    from guard.checks.interface import CheckContext
    from guard.policy import Policy, Rule

PRERELEASE = ("dev", "snapshot", "alpha", "beta", "rc", "pre")


def _c(
    category: str, message: str, loc: Loc | None, confidence: str = "high", ref: str | None = None
) -> Candidate:
    return candidate("release", category, message, loc, confidence, ref)


def _version(path: str, text: str | None) -> tuple[Version | None, str | None]:
    if text is None:
        return None, None
    try:
        return own_version(path, text), None
    except ManifestError as e:
        return None, str(e)[:200]


# ----- refs (supplied by the door) -----


def ref_candidates(change: Change, rule: Rule, policy: Policy | Any) -> Iterator[Candidate]:
    m = rule.matcher()
    protected = list(getattr(policy, "protected_refs", []) or [])
    default = getattr(policy, "default_branch", None)
    for u in change.ref_updates:
        name = u.short_name
        if u.is_tag:
            if not glob_match(name, m.tags):
                continue
            if u.created:
                yield _c("tag-created", f"tag `{name}` created", None, ref=u.ref)
            elif u.deleted:
                yield _c("tag-deleted", f"tag `{name}` deleted", None, ref=u.ref)
            elif u.old != u.new:
                yield _c(
                    "tag-moved", f"tag `{name}` moved from {u.old[:12]} to {u.new[:12]}", None, ref=u.ref
                )
        elif u.is_branch:
            release = glob_match(name, m.release_branches)
            if u.deleted and (release or glob_match(name, protected) or name == default):
                yield _c("protected-branch-deleted", f"protected branch `{name}` deleted", None, ref=u.ref)
            elif release and not u.deleted:
                verb = "created" if u.created else "force-pushed" if u.forced else "pushed"
                yield _c("release-branch-push", f"release branch `{name}` {verb}", None, ref=u.ref)
            elif u.forced and (glob_match(name, protected) or name == default):
                # Rewriting a protected branch's history (feature branches are rewritten routinely).
                yield _c(
                    "force-push",
                    f"protected branch `{name}` force-pushed ({u.old[:12]} is no longer "
                    f"an ancestor of {u.new[:12]})",
                    None,
                    ref=u.ref,
                )


# ----- manifests and changelogs -----


def version_candidates(change: Change) -> Iterator[Candidate]:
    pairs = []
    for f in change.files:
        # Not skipped when git calls it binary: a `.gitattributes` line (`*.toml binary`) says
        # so of a valid manifest; what really is binary fails to parse and is reported below.
        if f.is_submodule:
            continue
        paths = {f.path, old_path(f)}
        if not (CHANGELOG.search(f.path) or any(may_declare_version(p, f.patch) for p in paths)):
            continue  # neither side can declare a version: nothing to read
        sides = file_sides(change, f)
        old = _version(old_path(f), sides.old)[0]
        new, error = _version(f.path, sides.new)
        if sides.new is None and f.new_blob is not None and may_declare_version(f.path, f.patch):
            error = sides.error or "content not available"  # exists, but too large or unreadable
        if error is not None:  # fail closed: a bump cannot be ruled out in what cannot be read
            yield _c(
                "manifest-unparseable",
                f"{f.path} cannot be parsed ({error}): a version change cannot be ruled out",
                (f.path, 1),
            )
        pairs.append((f, old, new, sides))
    # A version that left one manifest (deleted file, now dynamic) and appears in another moved.
    vanished = {old.value for _, old, new, _ in pairs if old is not None and new is None}
    for f, old, new, sides in pairs:
        if new is not None:
            bumped = (old is not None and old.value != new.value) or (
                old is None and vanished and new.value not in vanished
            )
            if bumped:
                was = old.value if old else "another manifest"
                conf = "medium" if any(p in new.value.lower() for p in PRERELEASE) else "high"
                yield _c(
                    "version-bump",
                    f"project version changed from {was} to {new.value}",
                    (f.path, new.line),
                    conf,
                )
        if CHANGELOG.search(f.path) and sides.new is not None:
            before = changelog_releases(sides.old or "")
            for version, line in changelog_releases(sides.new).items():
                if version not in before:
                    yield _c(
                        "changelog-release",
                        f"changelog gains a released section for {version}",
                        (f.path, line),
                    )


# ----- CI -----


def _labels(job: Job | None) -> set[str]:
    return {label for c in job.commands for _, label in classify(c)} if job else set()


# Labels of release_steps.py that publish to the same place (a label not listed is its own place).
_TARGETS = {
    "GitHub release action": "github-release",
    "gh release": "github-release",
    "release-cli": "gitlab-release",
    "PyPI publish action": "pypi",
    "twine upload": "pypi",
    "flit/hatch/uv/pdm publish": "pypi",
    "poetry publish": "pypi",
    "npm publish action": "npm",
    "npm publish": "npm",
    "changeset publish": "npm",
    "changesets publish": "npm",
    "semantic-release": "semantic-release",
    "semantic-release action": "semantic-release",
    "cargo publish": "crates",
    "cargo release action": "crates",
    "gem push": "rubygems",
    "gem release action": "rubygems",
    "docker push": "registry",
    "docker buildx --push": "registry",
    "docker/build-push-action push": "registry",
    "kaniko": "registry",
    "crane push": "registry",
    "chart-releaser": "charts",
    "chart-releaser action": "charts",
}


def _target(label: str) -> str:
    return _TARGETS.get(label, label)


def _deploys_to(name: str) -> Callable[[Job], bool]:
    return lambda j: j.environment is not None and j.environment[0] == name


def _file_had_trigger(diff: CiDiff, job: Job, trig: str) -> bool:
    """A new job in a workflow whose base already ran on that trigger: the trigger is not new."""
    path = diff.renames.get(job.path, job.path)
    return any(b.path == path and trig in b.triggers for b in diff.base.jobs)


def ci_candidates(change: Change) -> Iterator[Candidate]:
    diff = ci_diff(change)
    base_steps = {
        (label, norm(c.text)) for j in diff.base.jobs for c in j.commands for _, label in classify(c)
    }
    for job in diff.head.jobs:
        before = diff.counterpart(job)
        had = _labels(before)
        # A release step rewritten in place (an action swapped for the CLI that does the same thing):
        # the job lost a step publishing to that destination, so it publishes nowhere new.
        gone = {_target(lb) for lb in had - _labels(job)}
        releasing = False
        for cmd in job.commands:
            for category, label in classify(cmd):
                releasing = True
                if label in had or (label, norm(cmd.text)) in base_steps or _target(label) in gone:
                    continue
                yield _c(category, f"job `{job.id}` gains a release step: {label}", cmd.loc)
        prod = job.environment is not None and production_like(job.environment[0], job.env_tier)
        if prod and job.env_action in (None, "start") and job.environment:
            was_prod = (
                before is not None
                and before.environment is not None
                and production_like(before.environment[0], before.env_tier)
            )
            name = job.environment[0]
            if not was_prod and not (before is None and diff.moved_within_file(job, _deploys_to(name))):
                yield _c(
                    "deploy-step",
                    f"job `{job.id}` now deploys to environment `{job.environment[0]}`",
                    job.environment[1],
                )
        releasing = releasing or prod or job.release is not None
        if job.release and not (before and before.release):
            yield _c("release-keyword", f"job `{job.id}` creates a GitLab release (`release:`)", job.release)
        if before is not None and releasing:
            if before.manual and not job.manual:
                yield _c("manual-gate-removed", f"job `{job.id}` no longer waits for a manual run", job.loc)
            if job.platform == "github" and before.environment and not job.environment:
                yield _c(
                    "manual-gate-removed",
                    f"job `{job.id}` left environment `{before.environment[0]}` and its protection rules",
                    job.loc,
                )
        old_triggers = before.triggers if before else {}
        for trig, cat in (("push:tags", "tag-trigger"), ("schedule", "schedule-trigger")):
            if (
                trig in job.triggers
                and trig not in old_triggers
                and (releasing or (before is None and cat == "tag-trigger"))
                and not (before is None and _file_had_trigger(diff, job, trig))
            ):
                what = "tags" if cat == "tag-trigger" else "a schedule"
                yield _c(cat, f"job `{job.id}` now runs on {what}", job.triggers[trig])


def candidates(change: Change, trusted_reach: Mapping[str, Reach] | None = None) -> list[Candidate]:
    def compute() -> list[Candidate]:
        reach = [c for c in ci_reach.candidates(change, trusted_reach) if c.kind == "release"]
        return [*version_candidates(change), *ci_candidates(change), *reach]

    return per_change(change, "release", compute)


def check(ctx: CheckContext, rule: Rule) -> list[Finding]:
    change, policy = ctx.change, ctx.policy
    return to_findings(
        change, rule, [*ref_candidates(change, rule, policy), *candidates(change, ctx.ci_reach)]
    )
