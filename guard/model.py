"""The platform-neutral vocabulary of pipeline-guard.

Doors build a `Change`; the engine identifies, checks and decides; reports render a `Decision`.
Plain dataclasses keep import time low (the pre-receive hook starts on every push); pydantic is
reserved for the policy, where validation errors matter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from guard.diff import AddedLine, AddedLines
from guard.errors import EXIT_ALLOW, EXIT_GATED

IdentityKind = Literal["human", "agent", "automation", "unknown"]
Autonomy = Literal["autonomous", "supervised", "assisted"]  # how an agent worked (autonomy.py)
FindingKind = Literal["path", "secret", "permission", "release", "identity"]
Action = Literal["block", "step-up", "warn"]
Verdict = Literal["allow", "warn", "step-up", "block"]
Mode = Literal["enforce", "advisory"]
FileStatus = Literal["added", "modified", "deleted", "renamed", "copied", "type-changed"]

IDENTITY_KINDS: tuple[IdentityKind, ...] = ("human", "agent", "automation", "unknown")

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class Person:
    """A git signature as written in the commit (always *claimed*)."""

    name: str
    email: str


@dataclass(frozen=True)
class Evidence:
    """One observation that pushed an identity verdict one way.

    `verified` is True only when the platform vouches for it (PR author, pusher, run actor, a
    signature that verifies); git metadata and message text are `claimed`.
    """

    signal: str  # e.g. "author-email", "trailer:co-authored-by", "pr-author", "pusher"
    value: str  # what was seen (untrusted text: reports escape it)
    source: str  # where it came from: "commit", "github-event", "pre-receive-env", ...
    verified: bool
    points_to: str  # "agent:<vendor>", "automation:<bot>", "human", "unknown"

    def to_dict(self) -> dict[str, object]:
        return {
            "signal": self.signal,
            "value": self.value,
            "source": self.source,
            "verified": self.verified,
            "points_to": self.points_to,
        }


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    vendor: str | None = None  # agent vendor ("claude-code") or bot name ("dependabot")
    evidence: tuple[Evidence, ...] = ()
    autonomy: Autonomy | None = None  # agents only

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.vendor}" if self.vendor else self.kind

    @property
    def shown(self) -> str:
        """The label with the autonomy level, for people: `agent:claude-code (supervised)`."""
        return f"{self.label} ({self.autonomy})" if self.autonomy else self.label

    @property
    def selectors(self) -> set[str]:
        """What a rule's `actors:` can name for this identity: `agent`, `agent:autonomous`..."""
        return {self.kind, f"{self.kind}:{self.autonomy}"} if self.autonomy else {self.kind}

    @property
    def verified(self) -> bool:
        """True when some verified evidence points to the verdict's kind."""
        return any(e.verified and e.points_to.split(":", 1)[0] == self.kind for e in self.evidence)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "vendor": self.vendor,
            "autonomy": self.autonomy,
            "verified": self.verified,
            "evidence": [e.to_dict() for e in self.evidence],
        }


UNKNOWN = Identity("unknown")


@dataclass
class FileChange:
    path: str  # new path (old path for deletions); non-UTF-8 bytes shown as \xNN
    status: FileStatus
    old_path: str | None = None  # set for renames/copies (and equal to path otherwise)
    old_mode: str | None = None  # "100644", "100755", "120000" (symlink), "160000" (submodule)
    new_mode: str | None = None
    old_blob: str | None = None  # object ids; None when the side does not exist
    new_blob: str | None = None
    binary: bool = False  # git's own judgement (NUL in the first 8000 bytes)
    removed_count: int = 0
    similarity: int | None = None  # rename/copy score
    spilled: bool = False  # `added` was not kept (over the reader's memory budget): use added_lines()
    lines: AddedLines = field(default_factory=AddedLines, repr=False, compare=False)

    @property
    def added(self) -> list[AddedLine]:
        """The added lines, parsed from the raw hunks the reader kept only when a check reads them."""
        return self.lines.get()

    @added.setter
    def added(self, value: list[AddedLine]) -> None:
        self.lines = AddedLines(lines=list(value))

    @property
    def patch(self) -> bytes | None:
        """The raw hunks (from the first `@@` line) when the reader kept them: the secret scanner
        searches these bytes instead of building one object per line."""
        return self.lines.patch

    def set_patch(self, patch: bytes | None) -> None:
        self.lines = AddedLines(patch=patch)

    def share_lines(self, other: FileChange) -> None:
        """Take `other`'s added lines (same blobs, same diff): one copy, parsed at most once."""
        self.lines = other.lines

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path this change touches: new and old (a rename out of a folder touches both)."""
        if self.old_path and self.old_path != self.path:
            return (self.path, self.old_path)
        return (self.path,)

    @property
    def is_symlink(self) -> bool:
        return self.new_mode == "120000"

    @property
    def is_submodule(self) -> bool:
        return self.new_mode == "160000" or self.old_mode == "160000"

    @property
    def mode_changed(self) -> bool:
        return self.old_mode is not None and self.new_mode is not None and self.old_mode != self.new_mode


@dataclass
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    authored_at: int  # unix seconds
    committed_at: int
    message: str
    trailers: tuple[tuple[str, str], ...] = ()  # (key as written, value), from anywhere in the body
    signed: bool = False  # a signature is present (not necessarily valid)
    signature_status: str | None = None  # git's %G? letter when verification was asked for
    files: list[FileChange] = field(default_factory=list)  # this commit's own diff (merges: see git/parse.py)
    identity: Identity = UNKNOWN  # filled by identify
    # From a Git AI authorship log (guard/gitai.py; claimed): path -> agent vendor -> lines it wrote.
    ai_lines: dict[str, dict[str, int]] = field(default_factory=dict)
    ai_evidence: tuple[Evidence, ...] = ()

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class RefUpdate:
    ref: str  # full ref name, e.g. refs/heads/main, refs/tags/v1.0
    old: str  # ZERO_SHA when created
    new: str  # ZERO_SHA when deleted
    forced: bool | None = None  # non-fast-forward; None when unknown

    @property
    def created(self) -> bool:
        return self.old == ZERO_SHA

    @property
    def deleted(self) -> bool:
        return self.new == ZERO_SHA

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith("refs/tags/")

    @property
    def is_branch(self) -> bool:
        return self.ref.startswith("refs/heads/")

    @property
    def short_name(self) -> str:
        for prefix in ("refs/heads/", "refs/tags/"):
            if self.ref.startswith(prefix):
                return self.ref[len(prefix) :]
        return self.ref


UNKNOWN_PUSHER = "unknown-pusher"


@dataclass
class Actor:
    """A platform-verified identity involved in the change (PR author, pusher, run actor...)."""

    login: str
    role: str  # "pr-author", "pusher", "run-actor", "triggering-actor", "sender", "delegator",
    # or UNKNOWN_PUSHER: the head's pusher could not be read (login then says why); judged as an agent
    source: str  # "github-event", "gitlab-ci", "pre-receive-env", ...
    id: str | None = None
    type: str | None = None  # platform account type: "User", "Bot", "Organization"
    verified: bool = True
    identity: Identity = UNKNOWN  # filled by identify

    @classmethod
    def of_account(cls, login: str, role: str, source: str, uid: object, type: str | None) -> Actor:
        """An actor from a platform's user object (numeric ids arrive as int or str)."""
        return cls(login, role, source, id=None if uid is None else str(uid), type=type)


@dataclass
class Approval:
    """Step-up evidence gathered by a door; judged by the engine (approvals.py)."""

    approver: str  # login, or signer principal
    kind: str  # "review", "label", "mr-approval", "signature", "push-option", "break-glass"
    source: str
    head_sha: str | None = None  # the head it was given for; None when the mechanism has no head
    approver_id: str | None = None
    approver_type: str | None = None  # "User", "Bot"
    permission: str | None = None  # "admin", "maintain", "write", "triage", "read"; None = unknown
    teams: tuple[str, ...] = ()  # teams / groups the approver belongs to, as the door knows them
    at: str | None = None  # ISO timestamp
    base_ref: str | None = None  # target branch at the time of approval, when known
    reason: str | None = None

    def to_dict(self, rejected_because: str | None = None) -> dict[str, Any]:
        """As every report and the audit trail show it (one shape: JSON contract and audit)."""
        out: dict[str, Any] = {
            "approver": self.approver,
            "kind": self.kind,
            "source": self.source,
            "head_sha": self.head_sha,
            "identity": self.identity.label,
        }
        if self.reason:
            out["reason"] = self.reason
        if rejected_because is not None:
            out["rejected_because"] = rejected_because
        return out

    identity: Identity = UNKNOWN  # filled by identify
    covers: tuple[str, ...] = ()  # deploys: the commits this approval vouches for (e.g. a merged PR's)


def finding_id(kind: str, rule: str, category: str, anchor: str) -> str:
    """The one stable id of a finding: its rule, category and what it is anchored to (a path and
    the line's text, a secret's digest, a commit), never a line number or a message, so a finding
    keeps its id when lines move or wording changes (SARIF partialFingerprints, baselines)."""
    digest = hashlib.sha256(f"{rule}\0{category}\0{anchor}".encode("utf-8", "replace")).hexdigest()[:16]
    # `secret:<hex>` reads as a credential assignment to the redactor's own detectors: say "leak".
    return f"{'leak' if kind == 'secret' else kind}:{category}:{digest}"


@dataclass
class Finding:
    rule: str  # the policy rule id that produced it
    kind: FindingKind
    action: Action
    message: str  # must never contain a secret value
    path: str | None = None
    line: int | None = None
    commit: str | None = None  # the commit that introduced it, when known
    commits: tuple[str, ...] = ()  # every commit involved (for attribution to identities)
    category: str | None = None  # detector-specific sub-kind, e.g. "workflow-permission", "github-pat"
    fingerprint: str | None = None  # redacted fingerprint (secrets): never the value
    id: str | None = None  # stable id for dedup/baselines: f(rule, path, category, content hash)
    confidence: str = "high"  # "high" | "medium" | "low"
    actors: tuple[str, ...] = ()  # identity labels this finding was attributed to
    tier: str | None = None  # secrets: "high" (provider formats, private keys) or "generic" (by context)
    reason: str | None = None  # secrets: why it is a credential, in words; never the value

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "rule": self.rule,
            "kind": self.kind,
            "action": self.action,
            "category": self.category,
            "path": self.path,
            "line": self.line,
            "commit": self.commit,
            "message": self.message,
            "fingerprint": self.fingerprint,
            "confidence": self.confidence,
            "actors": list(self.actors),
            "tier": self.tier,
            "reason": self.reason,
        }


class BlobReader(Protocol):
    """Reads git objects by id (works in bare repos and pre-receive quarantine)."""

    def read_blob(self, sha: str, max_bytes: int | None = None) -> bytes | None: ...


@dataclass
class Change:
    """The unit under judgement: a ref update, a PR/MR, a push or a deploy."""

    door: str  # "local", "github", "gitlab", "pre-receive"
    head: str
    base: str | None = None
    repository: str | None = None
    commits: list[Commit] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)  # base...head as a whole
    ref_updates: list[RefUpdate] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    source_ref: str | None = None  # the branch the work comes from (agent branches are a signal)
    target_ref: str | None = None  # where it is going
    environment: str | None = None  # deploy environment, when judging a deploy
    number: int | None = None  # PR / MR number
    guard_files: tuple[str, ...] = ()  # CI files that run the guard itself (editing them is gated)
    blobs: BlobReader | None = None
    notes: list[str] = field(default_factory=list)  # door remarks shown in reports
    identity: Identity = UNKNOWN  # change-level identity, filled by identify
    description: str | None = None  # PR/MR title and body (claimed text: agents' PR footers, task links)
    tag_messages: dict[str, str] = field(default_factory=dict)  # annotated tags pushed: ref -> message
    # ref -> the commit a tag update points at (the old one for a deletion): its release findings
    # carry that commit's identity, even when the commit is not new in this change.
    tagged_commits: dict[str, Commit] = field(default_factory=dict)
    runner: tuple[Evidence, ...] = ()  # agent runtime variables where the guard runs (claimed)
    ai_notes: str | None = None  # the git-ai notes commit to read, when not the repo's refs/notes/ai
    # Facts the checks derive once per run (parsed CI, secret scan records; checks/changeio.py
    # `per_change`). Not an input and never output: init=False keeps it out of reports and redaction.
    derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def commits_touching(self, path: str) -> tuple[str, ...]:
        """The commits in the range whose own diff touches `path` (old or new side)."""
        return tuple(c.sha for c in self.commits if any(path in f.paths for f in c.files))

    def commit(self, sha: str) -> Commit | None:
        for c in self.commits:
            if c.sha == sha:
                return c
        return None

    def tagged(self, ref: str | None) -> tuple[str, ...]:
        c = self.tagged_commits.get(ref) if ref else None
        return (c.sha,) if c is not None else ()


@dataclass
class StepUp:
    """What a step-up needs, and what has been counted toward it."""

    approvals_required: int
    eligible: list[str]  # who may approve: logins, @teams, "CODEOWNERS of <path>", "any human with write"
    how: list[str]  # how to approve at this door
    counted: list[Approval] = field(default_factory=list)
    rejected: list[tuple[Approval, str]] = field(default_factory=list)  # approval, why it did not count
    break_glass: Approval | None = None  # an emergency override that counted (always audited)

    @property
    def satisfied(self) -> bool:
        return self.break_glass is not None or len(self.counted) >= self.approvals_required


@dataclass
class Decision:
    verdict: Verdict
    mode: Mode
    findings: list[Finding]
    reasons: list[str]  # the chain from evidence to verdict, in order
    change: Change
    step_up: StepUp | None = None
    policy_source: str = "builtin:default"
    policy_digest: str | None = None
    redacted: bool = False  # set by guard.redact: every secret value in it masked, fit for output

    @property
    def exit_code(self) -> int:
        if self.mode == "advisory":
            return EXIT_ALLOW
        return EXIT_GATED if self.verdict in ("step-up", "block") else EXIT_ALLOW
