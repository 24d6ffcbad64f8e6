"""The pre-receive door: judge every ref update of a push on the server, inside a time budget.

One Change per ref update, judged by the same engine as every other door; the push is accepted
only when every ref is (git updates all refs of a push or none). What each ref judges:
- a protected branch (policy `protected_refs`) judges `old..new` whole, so a commit accepted on a
  loose branch cannot be fast-forwarded onto a protected one unjudged; creating one judges what no
  protected branch holds yet;
- any other ref judges only commits new to the repository (`new --not --all`): a new branch at
  known commits costs one `rev-list` and no scan. A tag skips commits a branch of the same push
  already brings (they are judged there);
- every update is on `change.ref_updates` (created/deleted/forced), which the release rules judge.

Objects are read from the quarantine through git with the inherited environment. The policy is the
built-in one unless a server-side file is named (option, PIPELINE_GUARD_POLICY, or git config
`pipeline-guard.policy`); nothing is ever read from the pushed commits.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from guard import budget
from guard.doors.interface import Prepared
from guard.doors.prereceive.hostenv import APPROVE_OPTION, SOURCE, Host, read_host
from guard.errors import UsageError
from guard.git.repo import GitRepo
from guard.gitai import NOTES_REF
from guard.judge import judge
from guard.model import ZERO_SHA, Approval, Change, Decision, RefUpdate
from guard.policy import Policy, builtin_policy, load_policy_file
from guard.report.escape import plain
from guard.trusted import TrustedPolicy, trusted_ci_reach

DOOR = "pre-receive"
HOW: tuple[str, ...] = (
    "push commits (or an annotated tag) signed with a key in the allowed-signers file",
    'or, as a verified human, push the agent\'s work with -o pipeline-guard.approve="<reason>"',
)
_LINE = re.compile(r"^([0-9a-f]{40}(?:[0-9a-f]{24})?) ([0-9a-f]{40}(?:[0-9a-f]{24})?) (\S+)$")
MAX_TEXT = 220


@dataclass
class Options:
    repo: str | None = None
    policy: str | None = None
    budget: float | None = None  # overrides server.budget_seconds
    audit_log: str | None = None
    started: float = field(default_factory=time.monotonic)  # the budget counts from here


@dataclass
class RefResult:
    update: RefUpdate
    protected: bool
    change: Change | None = None
    decision: Decision | None = None


# ----- input and configuration -----


def parse_updates(text: str) -> list[RefUpdate]:
    """`<old> <new> <ref>` lines -> RefUpdates; a malformed line is a usage error naming it."""
    out: list[RefUpdate] = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        m = _LINE.match(raw.strip())
        if m is None:
            raise UsageError(f"expected '<old> <new> <ref>', got {plain(raw[:120])!r}", where=f"stdin:{n}")
        old, new, ref = m.groups()
        if old == new:
            continue  # nothing moves
        out.append(RefUpdate(ref=ref, old=old, new=new))
    return out


def load_server_policy(repo: GitRepo, option: str | None, env: Mapping[str, str]) -> tuple[Policy, str]:
    """--policy, else PIPELINE_GUARD_POLICY, else git config pipeline-guard.policy, else built-in."""
    path = option or env.get("PIPELINE_GUARD_POLICY") or None
    if path is None:
        configured = repo.config_get("pipeline-guard.policy")
        if configured:  # relative to the repository, as git itself resolves hook-side paths
            path = str(repo.git_dir / os.path.expanduser(configured))
    if path is None:
        return builtin_policy(), "builtin:default"
    return load_policy_file(path), path


def _signers(repo: GitRepo, policy: Policy) -> str | None:
    """The allowed-signers file signatures are verified against; None switches signatures off."""
    path = policy.server.allowed_signers or repo.config_get("gpg.ssh.allowedSignersFile")
    if not path:
        return None
    full = repo.git_dir / os.path.expanduser(path)
    if not full.is_file():
        raise UsageError("allowed-signers file not found", where=str(full))
    return str(full)


def is_protected(update: RefUpdate, policy: Policy) -> bool:
    return update.is_branch and any(fnmatch.fnmatchcase(update.short_name, g) for g in policy.protected_refs)


# ----- building one Change per ref -----


def _net_base(repo: GitRepo, edge: list[str]) -> str | None:
    """Where the judged commits start from: the one boundary commit, or the newest of several
    (a merge of known work); truly divergent boundaries fall back to their common ancestor, which
    shows more files rather than fewer."""
    if not edge:
        return None
    tips = repo.independent(edge)
    return tips[0] if len(tips) == 1 else repo.octopus_base(tips)


def build_ref_change(
    repo: GitRepo, result: RefResult, policy: Policy, host: Host, push: list[RefUpdate]
) -> Change:
    change = _build_ref_change(repo, result, policy, host, push)
    upd = result.update
    tag = repo.read_tag(upd.new) if upd.is_tag and not upd.deleted else None
    if tag is not None:  # an annotated tag's message is scanned like a commit message
        change.tag_messages[upd.ref] = tag[1]
    # Git AI notes pushed with the commits they annotate: read them from the quarantine.
    change.ai_notes = next((u.new for u in push if u.ref == NOTES_REF and not u.deleted), None)
    return change


def _build_ref_change(
    repo: GitRepo, result: RefResult, policy: Policy, host: Host, push: list[RefUpdate]
) -> Change:
    upd = result.update
    fields: dict[str, Any] = {
        "door": DOOR,
        "repository": str(repo.git_dir),
        "target_ref": upd.ref,
        "source_ref": upd.ref if upd.is_branch and not result.protected else None,
        "actors": list(host.actors),
        "notes": list(host.notes),
    }
    if upd.deleted:
        return Change(head=ZERO_SHA, base=upd.old, ref_updates=[upd], blobs=repo, **fields)
    head = repo.peel(upd.new)
    if head is None:
        note = f"{upd.ref} points to a {repo.object_type(upd.new) or 'missing'} object, not a commit"
        change = Change(head=upd.new, ref_updates=[upd], blobs=repo, **fields)
        change.notes.append(note)
        return change
    extra: list[str] = []
    if result.protected and not upd.created:
        revs = [head, f"^{upd.old}"]
        count, _ = repo.boundary(revs)
        base = repo.merge_base(upd.old, head)
    else:
        if result.protected:  # a new protected branch: what no protected branch holds yet
            tips = repo.ref_tips("refs/heads/")
            revs = [head, *(f"^{sha}" for name, sha in tips.items() if is_protected(_ref(name), policy))]
        else:
            extra = ["--not", "--all", "--not"]
            revs = [head]
            if upd.is_tag:  # judged with the branch that brings them
                revs += [f"^{u.new}" for u in push if u.is_branch and not u.deleted]
        count, edge = repo.boundary(revs, extra)
        base = _net_base(repo, edge) if count else head
    if count == 0:  # nothing new to judge: no scan, the ref update alone is judged
        change = Change(head=head, base=head, ref_updates=[upd], blobs=repo, **fields)
        change.notes.append(f"{upd.ref}: no new commits to judge")
        return change
    return repo.build_change_revs(revs, base, head, extra=extra, ref_updates=[upd], **fields)


def _ref(name: str) -> RefUpdate:
    return RefUpdate(ref=name, old=ZERO_SHA, new=ZERO_SHA)


def with_forced(repo: GitRepo, upd: RefUpdate) -> RefUpdate:
    forced = False if upd.created or upd.deleted else not repo.is_ancestor(upd.old, upd.new)
    return RefUpdate(ref=upd.ref, old=upd.old, new=upd.new, forced=forced)


# ----- step-up evidence -----


def _tag_name(repo: GitRepo, sha: str) -> str | None:
    """The name an annotated tag object was made for (its `tag` header)."""
    tag = repo.read_tag(sha)
    return tag[0] if tag else None


def gather_approvals(
    repo: GitRepo, change: Change, policy: Policy, host: Host, signers: str | None
) -> tuple[list[Approval], list[str]]:
    """Signed tips (verified by git against the allowed signers) and the push-option approval."""
    upd = change.ref_updates[0]
    approvals: list[Approval] = []
    notes: list[str] = []
    if signers and not upd.deleted and change.head != ZERO_SHA:
        # A tag is approved by its own signature, made for this name; a branch by its signed tip,
        # new in this push (an old signed commit replayed onto a branch approves nothing new).
        obj = upd.new if upd.is_tag else change.head
        tip = change.commit(change.head)
        if (upd.is_tag and _tag_name(repo, obj) == upd.short_name) or (tip is not None and tip.signed):
            good, signer = repo.verify_signature(obj, signers)
            what = "tag" if upd.is_tag else "commit"
            if good and signer:
                approvals.append(
                    Approval(
                        approver=signer,
                        kind="signature",
                        source=DOOR,
                        head_sha=change.head,
                        reason=f"signed {what} {obj[:12]}",
                    )
                )
            else:
                by = f" by {signer}" if signer else ""
                notes.append(
                    f"the {what} {obj[:12]} is signed{by}, but not with a key in the allowed signers"
                )
    pusher = host.pusher
    for kind, option, enabled in (
        ("push-option", APPROVE_OPTION, policy.server.push_option_approval),
        # Both are opt-in: a push option is typed by whoever holds the credentials, and an agent
        # running with the person's own credentials can type it as well as the person.
        (
            "break-glass",
            policy.break_glass.push_option,
            policy.break_glass.enabled and policy.server.push_option_break_glass,
        ),
    ):
        reason = host.option(option)
        if reason is None:
            continue
        if not enabled:
            notes.append(f"push option {option} ignored: switched off by the policy")
        elif not pusher.verified:
            notes.append(f"push option {option} ignored: the pusher is not verified")
        else:  # the engine refuses it from agent and bot identities
            approvals.append(
                Approval(
                    approver=pusher.login,
                    approver_id=pusher.id,
                    approver_type=pusher.type,
                    permission="write",  # the host authenticated this push: the pusher may write
                    kind=kind,
                    source=SOURCE,
                    head_sha=change.head,
                    reason=reason,
                )
            )
    return approvals, notes


# ----- judging the push -----


def judge_push(
    repo: GitRepo,
    updates: list[RefUpdate],
    policy: Policy,
    policy_source: str,
    host: Host,
    deadline: budget.Deadline,
    signers: str | None,
    audit_log: str | None = None,
) -> list[RefResult]:
    """Each ref through guard/judge.py, its audit record appended as it is decided."""
    results = [RefResult(upd, is_protected(upd, policy)) for upd in updates]
    # The default branch as the server holds it (refs move only after the hook): files its
    # privileged CI runs are CI configuration for every pushed ref.
    default = repo.default_branch()
    with deadline.active():
        reach = trusted_ci_reach(repo, default) if default else None
        results = [RefResult(with_forced(repo, r.update), r.protected) for r in results]
        for r in results:
            budget.check(f"judging {r.update.ref}")
            r.change = build_ref_change(repo, r, policy, host, updates)
            approvals, notes = gather_approvals(repo, r.change, policy, host, signers)
            r.change.approvals.extend(approvals)
            r.change.notes.extend(notes)
            trusted = TrustedPolicy(policy, policy_source, ref=None, ci_reach=reach or {})
            r.decision = judge(Prepared(r.change, trusted), deadline=deadline, audit_log=audit_log, how=HOW)
    return results


def run(opts: Options, stdin: TextIO, stderr: TextIO, env: Mapping[str, str] | None = None) -> int:
    """The hook: 0 accepts the push, 1 rejects it (usage/internal errors raise GuardError)."""
    from guard.doors.prereceive import report

    env = os.environ if env is None else env
    updates = parse_updates(stdin.read())
    repo = GitRepo(opts.repo)
    policy, source = load_server_policy(repo, opts.policy, env)
    host = read_host(env, policy.server.pusher_env)
    signers = _signers(repo, policy)
    out = report.Output(stderr, gitlab=host.gitlab)
    seconds = opts.budget if opts.budget is not None else policy.server.budget_seconds
    deadline = budget.Deadline(seconds, start=opts.started)
    results: list[RefResult] = []
    try:
        with deadline.alarm():
            results = judge_push(
                repo,
                updates,
                policy,
                source,
                host,
                deadline,
                signers,
                opts.audit_log or policy.server.audit_log,
            )
        if deadline.fired:  # something swallowed the interrupt: the judgement may be partial
            raise budget.BudgetExceeded(f"time budget of {seconds:g} s exhausted")
    except budget.BudgetExceeded as e:
        done = {r.update.ref for r in results if r.decision is not None}
        audit_timeouts(opts, policy, [u for u in updates if u.ref not in done], str(e))
        return report.timed_out(out, e, results, updates, policy, host, deadline)
    return report.verdicts(out, results, policy, host, deadline, signers is not None)


def audit_timeouts(opts: Options, policy: Policy, left: list[RefUpdate], why: str) -> None:
    """The refs the budget left unjudged are recorded too (the judged ones were, by guard/judge.py),
    before any verdict is shown: a push that cannot be recorded fails closed."""
    path = opts.audit_log or policy.server.audit_log
    if not path:
        return
    from guard.audit import append

    for u in left:
        append(
            path,
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "door": DOOR,
                "target_ref": u.ref,
                "ref_updates": [{"ref": u.ref, "old": u.old, "new": u.new, "forced": u.forced}],
                "verdict": "timeout",
                "reason": why,
            },
        )


__all__ = ["Options", "RefResult", "parse_updates", "run"]
