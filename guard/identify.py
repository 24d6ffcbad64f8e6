"""Identification: who made each commit, push, PR and run (fingerprints in rules/agents.yml).

Every verdict is fused from evidence, each piece `verified` (the platform says so) or `claimed`
(git metadata and message text). Precedence, in order:

1. agent markers anywhere in a commit (author, committer, co-author trailers, session trailers,
   known generated body lines, message prefixes, the source branch) make it an agent commit,
   whatever the author claims;
2. a commit pushed or opened by a verified agent identity is agent work;
3. otherwise an automation author (or an automation committer behind a platform author) makes it
   automation; a bot account the catalogue does not know (`some-app[bot]`, a `Bot` actor) is
   `unknown:<slug>`, never trusted as automation (the default policy gates it like an agent on
   protected changes until a policy declares it under `identity.accounts`); a person-looking
   author makes it human; nothing usable makes it unknown.

Lookups are dict hits on lower-cased ids, logins and addresses; the few regexes are compiled once
into one alternation per field, so a 100k-commit range costs one `git log` plus microseconds per
commit. Names in prose ("Claude suggested...") are never evidence.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard import budget
from guard.autonomy import MAKER_ROLES, commit_level, highest
from guard.errors import UsageError
from guard.model import (
    UNKNOWN_PUSHER,
    Actor,
    Approval,
    Change,
    Commit,
    Evidence,
    Identity,
    IdentityKind,
    Person,
)
from guard.redact import Redactor

if TYPE_CHECKING:
    from guard.gitrepo import GitRepo
    from guard.policy import Account, Policy

ROLES = ("author", "committer", "co-author")
NOREPLY = "users.noreply.github.com"
MAX_EVIDENCE = 16  # per commit: a hostile message with 10k trailers must not bloat reports
MAX_CHANGE_COMMITS = 50  # change-level evidence lists this many agent commits, then a count
_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")
_PERSON = re.compile(r"^\s*(.*?)\s*<([^<>]*)>")


# ----------------------------------------------------------------------------- fingerprints


@dataclass(frozen=True)
class Print:
    """One fingerprint entry, as the lookups see it."""

    vendor: str
    kind: IdentityKind
    roles: frozenset[str] = frozenset(ROLES)
    name_re: re.Pattern[str] | None = None
    subject_re: re.Pattern[str] | None = None

    @property
    def points_to(self) -> str:
        return "human" if self.kind == "human" else f"{self.kind}:{self.vendor}"

    @property
    def conditional(self) -> bool:
        return self.name_re is not None or self.subject_re is not None

    def accepts(self, role: str, name: str, subject: str) -> bool:
        if role not in self.roles:
            return False
        if self.name_re is not None and not self.name_re.search(name):
            return False
        return self.subject_re is None or bool(self.subject_re.search(subject))


@dataclass
class _Alternation:
    """Many regexes as one compiled alternation; a match names the entry that owns it."""

    pattern: re.Pattern[str] | None = None
    owners: dict[str, Print] = field(default_factory=dict)

    def search(self, text: str) -> tuple[Print, str] | None:
        if self.pattern is None:
            return None
        m = self.pattern.search(text)
        if m is None or m.lastgroup is None:
            return None
        return self.owners[m.lastgroup], m.group(0)


@dataclass
class Fingerprints:
    accounts: dict[str, list[Print]] = field(default_factory=dict)  # id, id+login, login
    emails: dict[str, list[Print]] = field(default_factory=dict)
    email_globs: list[tuple[re.Pattern[str], Print]] = field(default_factory=list)
    names: list[tuple[re.Pattern[str], Print]] = field(default_factory=list)
    logins: list[tuple[re.Pattern[str], Print]] = field(default_factory=list)
    trailers: dict[str, list[tuple[re.Pattern[str], Print]]] = field(default_factory=dict)
    generic_trailers: frozenset[str] = frozenset()
    aliases: _Alternation = field(default_factory=_Alternation)
    subject: _Alternation = field(default_factory=_Alternation)
    body: _Alternation = field(default_factory=_Alternation)
    branches: list[tuple[str, Print]] = field(default_factory=list)
    platform: frozenset[str] = frozenset()
    placeholders: frozenset[str] = frozenset()
    vendors: dict[str, IdentityKind] = field(default_factory=dict)
    env: list[tuple[str, re.Pattern[str], Print]] = field(default_factory=list)  # runtime variables


def _scoped(pattern: str) -> str:
    """`(?i)x` -> `(?i:x)`: global flags are only legal at the start of a whole pattern."""
    m = _FLAGS.match(pattern)
    return f"(?{m.group(1)}:{pattern[m.end() :]})" if m else f"(?:{pattern})"


def _compile(pattern: Any, where: str, flags: int = 0) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise UsageError(f"must be a regular expression string, got {type(pattern).__name__}", where=where)
    try:
        return re.compile(pattern, flags)
    except re.error as e:
        raise UsageError(f"invalid regular expression {pattern!r}: {e}", where=where) from None


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def _strings(entry: dict[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise UsageError("must be a list of strings", where=f"{where}.{key}")
    return [str(v) for v in value]


class _Builder:
    """Turns entries (rules/agents.yml format) into Fingerprints; errors name the entry and key."""

    KEYS = frozenset(
        {
            "vendor",
            "kind",
            "surface",
            "github",
            "emails",
            "names",
            "roles",
            "when",
            "trailers",
            "subject",
            "body",
            "branches",
            "aliases",
            "logins",
            "env",
        }
    )

    def __init__(self) -> None:
        self.fp = Fingerprints()
        self.subject: list[tuple[str, Print]] = []
        self.body: list[tuple[str, Print]] = []
        self.aliases: list[tuple[str, Print]] = []

    def add(self, entry: Any, where: str) -> None:
        if not isinstance(entry, dict):
            raise UsageError("each fingerprint must be a mapping", where=where)
        unknown = set(entry) - self.KEYS
        if unknown:
            raise UsageError(f"unknown key {sorted(unknown)[0]!r}", where=where)
        vendor = entry.get("vendor")
        if not isinstance(vendor, str) or not vendor.strip():
            raise UsageError("vendor: required, a non-empty string", where=where)
        kind = entry.get("kind", "agent")
        if kind not in ("agent", "automation", "human"):
            raise UsageError(f"kind: must be agent, automation or human, got {kind!r}", where=where)
        roles = frozenset(_strings(entry, "roles", where) or ROLES)
        if not roles <= set(ROLES):
            raise UsageError(f"roles: must be among {', '.join(ROLES)}", where=where)
        when = entry.get("when") or {}
        if not isinstance(when, dict) or set(when) - {"name", "subject"}:
            raise UsageError("when: a mapping with `name` and/or `subject` regexes", where=where)
        p = Print(
            vendor=vendor.strip(),
            kind=kind,
            roles=roles,
            name_re=_compile(when["name"], f"{where}.when.name") if "name" in when else None,
            subject_re=_compile(when["subject"], f"{where}.when.subject") if "subject" in when else None,
        )
        self.fp.vendors.setdefault(p.vendor, p.kind)
        for key in _strings(entry, "github", where):
            self.fp.accounts.setdefault(key.strip().lower(), []).append(p)
        for addr in _strings(entry, "emails", where):
            addr = addr.strip().lower()
            if "*" in addr:
                self.fp.email_globs.append((_glob(addr), p))
            else:
                self.fp.emails.setdefault(addr, []).append(p)
        for i, rx in enumerate(_strings(entry, "names", where)):
            self.fp.names.append((_compile(rx, f"{where}.names[{i}]"), p))
        for i, rx in enumerate(_strings(entry, "logins", where)):
            self.fp.logins.append((_compile(rx, f"{where}.logins[{i}]", re.IGNORECASE), p))
        trailers = entry.get("trailers") or {}
        if not isinstance(trailers, dict):
            raise UsageError("trailers: a mapping of trailer key to value regex", where=where)
        for key, rx in trailers.items():
            pat = _compile(rx, f"{where}.trailers.{key}")
            self.fp.trailers.setdefault(str(key).lower(), []).append((pat, p))
        for key, bucket in (("subject", self.subject), ("body", self.body)):
            for i, rx in enumerate(_strings(entry, key, where)):
                _compile(rx, f"{where}.{key}[{i}]")  # validate alone: the error then names it
                bucket.append((rx, p))
        for b in _strings(entry, "branches", where):
            self.fp.branches.append((b.strip().lower(), p))
        for a in _strings(entry, "aliases", where):
            self.aliases.append((r"\b" + re.escape(a.strip()) + r"\b", p))
        env = entry.get("env") or {}
        if not isinstance(env, dict):
            raise UsageError("env: a mapping of variable name to value regex", where=where)
        for var, rx in env.items():
            self.fp.env.append((str(var), _compile(rx, f"{where}.env.{var}"), p))

    def build(self) -> Fingerprints:
        fp = self.fp
        # Entries with `when` conditions are more specific: try them first (stable otherwise).
        for table in (fp.accounts, fp.emails):
            for key, prints in table.items():
                table[key] = sorted(prints, key=lambda q: not q.conditional)
        fp.subject = _alternation(self.subject, 0)
        fp.body = _alternation(self.body, re.MULTILINE)
        fp.aliases = _alternation(self.aliases, re.IGNORECASE)
        fp.branches.sort(key=lambda bp: -len(bp[0]))
        return fp


def _alternation(items: list[tuple[str, Print]], flags: int) -> _Alternation:
    if not items:
        return _Alternation()
    owners = {f"g{i}": p for i, (_, p) in enumerate(items)}
    joined = "|".join(f"(?P<g{i}>{_scoped(rx)})" for i, (rx, _) in enumerate(items))
    return _Alternation(re.compile(joined, flags), owners)


def _account_entry(acc: Account) -> dict[str, Any]:
    return {"vendor": acc.vendor, "kind": acc.kind, "github": [*acc.ids, *acc.logins], "emails": acc.emails}


@lru_cache(maxsize=4)
def _builtin_data(path: str, mtime: float) -> dict[str, Any]:
    import yaml  # only when fingerprints are first needed

    where = "builtin:agents"
    try:
        # libyaml's loader when present: the pure-Python one costs the hook ~15 ms on this file.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"cannot read built-in fingerprints: {e}", where=where) from None
    if not isinstance(data, dict) or not isinstance(data.get("fingerprints"), list):
        raise UsageError("expected a mapping with a `fingerprints` list", where=where)
    return data


@lru_cache(maxsize=16)
def _build(path: str, mtime: float, extra_json: str, branches: bool) -> Fingerprints:
    """Compiled fingerprints; cached on the policy's entries (as JSON, so the key is hashable)."""
    data = _builtin_data(path, mtime)
    b = _Builder()
    # Policy entries come first: an organisation's own account outranks a built-in one.
    for where, entry in json.loads(extra_json):
        b.add(entry, where)
    for i, entry in enumerate(data["fingerprints"]):
        b.add(entry, f"builtin:agents.fingerprints[{i}]")
    fp = b.build()
    fp.generic_trailers = frozenset(str(k).lower() for k in data.get("generic_trailers", []))
    fp.platform = frozenset(str(k).lower() for k in data.get("platform", []))
    fp.placeholders = frozenset(str(k).lower() for k in data.get("placeholders", []))
    if not branches:
        fp.branches = []
    return fp


def load_fingerprints(policy: Policy | None = None) -> Fingerprints:
    """rules/agents.yml merged with the policy's `identity.accounts` and `identity.fingerprints`."""
    from guard.policy import RULES_DIR

    path = RULES_DIR / "agents.yml"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise UsageError("built-in fingerprints rules/agents.yml are missing", where=str(path)) from None
    extra: list[tuple[str, Any]] = []
    branches = True
    if policy is not None:
        cfg = policy.identity
        branches = cfg.agent_branches
        extra += [(f"identity.accounts[{i}]", _account_entry(a)) for i, a in enumerate(cfg.accounts)]
        extra += [(f"identity.fingerprints[{i}]", e) for i, e in enumerate(cfg.fingerprints)]
    return _build(str(path), mtime, json.dumps(extra, sort_keys=True, default=str), branches)


# ----------------------------------------------------------------------------- people


def parse_person(value: str) -> Person:
    """`Name <email>` (or `Name email`, as some agents write it) from a trailer value. Never raises."""
    m = _PERSON.match(value)
    if m:
        return Person(m.group(1).strip(), m.group(2).strip())
    head, _, last = value.strip().rpartition(" ")
    if "@" in last:
        return Person(head.strip(), last)
    return Person(value.strip(), "")


def noreply_account(email: str) -> tuple[str | None, str] | None:
    """`<id>+<login>@users.noreply.github.com` -> (id, login); older `<login>@...` -> (None, login)."""
    local, at, domain = email.rpartition("@")
    if not at or domain != NOREPLY or not local:
        return None
    uid, plus, login = local.partition("+")
    if plus and uid.isdigit():
        return uid, login
    return None, local


def _first(prints: list[Print] | None, role: str, name: str, subject: str) -> Print | None:
    if prints:
        for p in prints:
            if p.accepts(role, name, subject):
                return p
    return None


def match_person(fp: Fingerprints, person: Person, role: str, subject: str = "") -> Print | None:
    """The fingerprint a git identity matches: account id, then login, address, glob, name."""
    email = person.email.strip().lower()
    name = person.name.strip()
    keys: list[str] = []
    gh = noreply_account(email)
    if gh is not None:
        uid, login = gh
        if uid:
            keys += [f"{uid}+{login}", uid]
        keys.append(login)
    for key in keys:
        p = _first(fp.accounts.get(key), role, name, subject)
        if p:
            return p
    p = _first(fp.emails.get(email), role, name, subject)
    if p:
        return p
    for pat, p in fp.email_globs:
        if pat.match(email) and p.accepts(role, name, subject):
            return p
    lname = name.lower()
    if (
        lname and " " not in lname and not lname.isdigit()
    ):  # a login-looking name (`dependabot[bot]`) is a claimed account
        p = _first(fp.accounts.get(lname), role, name, subject)
        if p:
            return p
    for pat, p in fp.names:
        if pat.search(name) and p.accepts(role, name, subject):
            return p
    return None


def _bot_slug(login: str) -> str | None:
    """`some-app[bot]` -> `some-app`: a GitHub App the catalogue does not know (kind unknown)."""
    low = login.strip().lower()
    return low[: -len("[bot]")] or None if low.endswith("[bot]") else None


def _show(person: Person) -> str:
    return f"{person.name} <{person.email}>" if person.email else person.name


def _person_evidence(
    fp: Fingerprints, person: Person, role: str, signal: str, subject: str
) -> Evidence | None:
    p = match_person(fp, person, role, subject)
    if p is not None:
        return Evidence(signal, _show(person), "commit", False, p.points_to)
    gh = noreply_account(person.email.strip().lower())
    slug = _bot_slug(gh[1]) if gh else None
    slug = slug or _bot_slug(person.name)
    if slug:
        return Evidence(signal, _show(person), "commit", False, f"unknown:{slug}")
    return None


def looks_like_person(fp: Fingerprints, person: Person) -> bool:
    """Positive evidence of a person: a name and an address that is neither a platform nor a placeholder."""
    email = person.email.strip().lower()
    return (
        bool(person.name.strip())
        and "@" in email
        and email not in fp.platform
        and email not in fp.placeholders
    )


# ----------------------------------------------------------------------------- commits


def _kind_of(points_to: str) -> str:
    return points_to.split(":", 1)[0]


def _vendor_of(points_to: str) -> str | None:
    _, _, vendor = points_to.partition(":")
    return vendor or None


def _branch_name(branch: str) -> str:
    return branch.strip().removeprefix("refs/heads/").lower()


def _trailer_evidence(fp: Fingerprints, commit: Commit, subject: str) -> Iterable[Evidence]:
    for key, value in commit.trailers:
        k = key.lower()
        if k == "co-authored-by":
            e = _person_evidence(fp, parse_person(value), "co-author", "trailer:co-authored-by", subject)
            if e is not None:
                yield e
            continue
        for pat, p in fp.trailers.get(k, ()):
            if pat.search(value):
                yield Evidence(f"trailer:{k}", value, "commit", False, p.points_to)
                break
        else:
            if k in fp.generic_trailers:
                hit = fp.aliases.search(value)
                if hit is not None:
                    yield Evidence(f"trailer:{k}", value, "commit", False, hit[0].points_to)


MAX_DESCRIPTION = 65_536


def runner_evidence(env: Mapping[str, str], fp: Fingerprints) -> tuple[Evidence, ...]:
    """Agent runtime variables in the environment the guard runs in (a local check, the pre-push
    hook, a CI job): claimed evidence naming the variable, never its value (some hold tokens)."""
    out: list[Evidence] = []
    for var, pat, p in fp.env:
        value = env.get(var)
        if value is not None and pat.search(value):
            out.append(Evidence(f"env:{var}", var, "runner-environment", False, p.points_to))
    return tuple(out)


def commit_evidence(
    commit: Commit,
    fp: Fingerprints,
    branch: str | None = None,
    description: str | None = None,
    runner: tuple[Evidence, ...] = (),
) -> list[Evidence]:
    """Everything the commit (its branch, and the PR/MR that carries it) says about who made it,
    claimed, deduplicated. A PR body is writable by anyone, like a message: claimed evidence that
    can only make a change stricter (Codex cloud and Jules-as-user PRs leave their markers there)."""
    subject = commit.subject
    found: list[Evidence] = []
    a = _person_evidence(fp, commit.author, "author", "author", subject)
    if a is not None:
        found.append(a)
    if commit.committer != commit.author:
        c = _person_evidence(fp, commit.committer, "committer", "committer", subject)
        if c is not None:
            found.append(c)
    found.extend(_trailer_evidence(fp, commit, subject))
    hit = fp.subject.search(subject)
    if hit is not None:
        found.append(Evidence("subject", subject[:200], "commit", False, hit[0].points_to))
    hit = fp.body.search(commit.message[len(subject) :])
    if hit is not None:
        found.append(Evidence("body", hit[1][:200], "commit", False, hit[0].points_to))
    found.extend(runner)  # an agent runtime pushing/checking this range: every commit in it
    if description:
        hit = fp.body.search(description[:MAX_DESCRIPTION])
        if hit is not None:
            found.append(Evidence("pr-body", hit[1][:200], "pull-request", False, hit[0].points_to))
    if branch:
        name = _branch_name(branch)
        for prefix, p in fp.branches:
            if name.startswith(prefix):
                found.append(Evidence("branch", branch, "commit", False, p.points_to))
                break
    seen: set[tuple[str, str, str]] = set()
    out: list[Evidence] = []
    for e in found:
        key = (e.signal, e.value, e.points_to)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _verdict(kind: IdentityKind, vendor: str | None, ev: list[Evidence]) -> Identity:
    """Keep the evidence bounded, the deciding pieces first: a hostile message with thousands of
    trailers must neither bloat reports nor push the deciding marker out of the list."""
    level = commit_level(ev) if kind == "agent" else None  # from all of it, before the cut
    ev.sort(key=lambda e: _kind_of(e.points_to) != kind)  # stable
    return Identity(kind, vendor, tuple(ev[:MAX_EVIDENCE]), level)


def identify_commit(
    commit: Commit,
    fp: Fingerprints,
    branch: str | None = None,
    description: str | None = None,
    runner: tuple[Evidence, ...] = (),
) -> Identity:
    """One commit's identity from its own metadata (and its branch, PR/MR text and the runtime
    the guard runs in, when known)."""
    ev = commit_evidence(commit, fp, branch, description, runner)
    for e in ev:
        if _kind_of(e.points_to) == "agent":
            found = _verdict("agent", _vendor_of(e.points_to), ev)
            self_committed = commit.committer == commit.author and any(
                x.signal == "author" and _kind_of(x.points_to) == "agent" for x in ev
            )  # an agent identity that also committed: it worked on its own
            return replace(found, autonomy="autonomous") if self_committed else found
    by_signal = {e.signal: e for e in ev if e.signal in ("author", "committer")}
    author = by_signal.get("author")
    committer = by_signal.get("committer")
    if author is not None and _kind_of(author.points_to) == "automation":
        return _verdict("automation", _vendor_of(author.points_to), ev)
    if author is not None and _kind_of(author.points_to) == "unknown":  # a bot nobody declared
        return _verdict("unknown", _vendor_of(author.points_to), ev)
    if looks_like_person(fp, commit.author):
        human = Evidence("author", _show(commit.author), "commit", False, "human")
        return _verdict("human", None, [human, *ev])
    if committer is not None and _kind_of(committer.points_to) == "automation":
        return _verdict("automation", _vendor_of(committer.points_to), ev)
    return _verdict("unknown", None, ev)


# ----------------------------------------------------------------------------- actors


def _match_account(fp: Fingerprints, login: str, uid: str | None) -> Print | None:
    low = login.strip().lower()
    keys = [f"{uid}+{low}", uid] if uid else []
    for key in [*keys, low]:
        p = _first(fp.accounts.get(key), "author", login, "")
        if p:
            return p
    for pat, p in fp.logins:
        if pat.search(low):
            return p
    if "@" in low:  # signer principals and GitLab user e-mails
        return match_person(fp, Person(login, low), "author")
    return None


def _identify_account(
    fp: Fingerprints,
    login: str,
    uid: str | None,
    acct_type: str | None,
    signal: str,
    source: str,
    verified: bool,
) -> Identity:
    if not login.strip() and not uid:
        return Identity("unknown")
    value = f"{login} (id {uid})" if uid else login
    p = _match_account(fp, login, uid)
    if p is not None:
        e = Evidence(signal, value, source, verified, p.points_to)
        return Identity(p.kind, None if p.kind == "human" else p.vendor, (e,))
    slug = _bot_slug(login)
    if slug or (acct_type or "").lower() == "bot":
        bot = slug or login.strip().lower()
        return Identity("unknown", bot, (Evidence(signal, value, source, verified, f"unknown:{bot}"),))
    if (acct_type or "user").lower() == "user" and login.strip():
        return Identity("human", None, (Evidence(signal, value, source, verified, "human"),))
    return Identity("unknown", None, (Evidence(signal, value, source, verified, "unknown"),))


def identify_actor(actor: Actor, fp: Fingerprints) -> Identity:
    """A platform actor (PR author, pusher, run actor...): evidence is verified when the door says so.

    A head whose pusher could not be read is judged as an agent's (fail closed): a later event on
    the same head (a review, a label, a retried job) must never relax the verdict of the push."""
    if actor.role == UNKNOWN_PUSHER:
        points = f"agent:{UNKNOWN_PUSHER}"
        return Identity(
            "agent",
            UNKNOWN_PUSHER,
            (Evidence(f"actor:{actor.role}", actor.login, actor.source, False, points),),
        )
    return _identify_account(
        fp, actor.login, actor.id, actor.type, f"actor:{actor.role}", actor.source, actor.verified
    )


def identify_approval(approval: Approval, fp: Fingerprints) -> Identity:
    return _identify_account(
        fp,
        approval.approver,
        approval.approver_id,
        approval.approver_type,
        f"approval:{approval.kind}",
        approval.source,
        True,
    )


# ----------------------------------------------------------------------------- changes


def _points(identity: Identity) -> str:
    if identity.kind in ("agent", "automation"):
        return f"{identity.kind}:{identity.vendor or 'unspecified'}"
    return identity.kind


def _actor_evidence(actor: Actor) -> Evidence:
    value = f"{actor.login} (id {actor.id})" if actor.id else actor.login
    return Evidence(f"actor:{actor.role}", value, actor.source, actor.verified, _points(actor.identity))


def _reason(identity: Identity) -> str:
    """The first piece of evidence behind a verdict, as `signal: value`."""
    for e in identity.evidence:
        if _kind_of(e.points_to) == identity.kind:
            return f"{e.signal}: {e.value}"
    return "no usable evidence"


def _change_identity(change: Change, deciding: list[Actor]) -> Identity:
    agent_actors = [a for a in deciding if a.identity.kind == "agent"]
    agent_commits = [c for c in change.commits if c.identity.kind == "agent"]
    if agent_actors or agent_commits:
        vendors = Counter(c.identity.vendor for c in agent_commits if c.identity.vendor)
        vendor = agent_actors[0].identity.vendor if agent_actors else None
        vendor = vendor or (vendors.most_common(1)[0][0] if vendors else None)
        ev = [_actor_evidence(a) for a in agent_actors]
        for c in agent_commits[:MAX_CHANGE_COMMITS]:
            ev.append(
                Evidence(
                    "commit",
                    f"{c.sha[:12]} {_reason(c.identity)}",
                    "commit",
                    c.identity.verified,
                    _points(c.identity),
                )
            )
        if len(agent_commits) > MAX_CHANGE_COMMITS:
            rest = len(agent_commits) - MAX_CHANGE_COMMITS
            ev.append(
                Evidence("commits", f"{rest} more agent commits", "commit", False, "agent:" + (vendor or "?"))
            )
        level = highest(
            [*(a.identity.autonomy for a in agent_actors), *(c.identity.autonomy for c in agent_commits)]
        )
        return Identity("agent", vendor, tuple(ev), level)
    for kind in ("human", "automation"):
        actors = [a for a in deciding if a.identity.kind == kind]
        commits = [c for c in change.commits if c.identity.kind == kind]
        if actors or commits:
            bots = Counter(
                i.vendor or "unspecified"
                for i in [*(a.identity for a in actors), *(c.identity for c in commits)]
            )
            vendor = bots.most_common(1)[0][0] if kind == "automation" else None
            ev = [_actor_evidence(a) for a in actors]
            if commits:
                ev.append(
                    Evidence(
                        "commits",
                        f"{len(commits)} {kind} commit(s), e.g. {commits[0].sha[:12]}",
                        "commit",
                        any(c.identity.verified for c in commits),
                        _points(commits[0].identity),
                    )
                )
            return Identity(kind, vendor, tuple(ev))
    return Identity("unknown")


def identify_change(change: Change, policy: Policy) -> None:
    """Fill the identity of every commit, actor and approval, and of the change as a whole."""
    fp = load_fingerprints(policy)
    for actor in change.actors:
        actor.identity = identify_actor(actor, fp)
    for approval in change.approvals:
        approval.identity = identify_approval(approval, fp)
    # Who pushed / opened / ran it, as the platform vouches (the delegating person is not the maker).
    deciding = [a for a in change.actors if a.verified and a.role != "delegator"]
    for a in deciding:  # an agent account that pushed, opened or ran the change acted on its own
        if a.identity.kind == "agent" and a.role in MAKER_ROLES:
            a.identity = replace(a.identity, autonomy="autonomous")
    agent_actors = [a for a in deciding if a.identity.kind == "agent"]
    for n, c in enumerate(change.commits):
        if not n & 0xFF:
            budget.check("identifying commits")
        ident = identify_commit(c, fp, change.source_ref, change.description, change.runner)
        extra = [
            _actor_evidence(a)
            for a in deciding
            if (a.identity.kind == "agent" and ident.kind != "agent")
            or (a.identity.kind in ("agent", "automation") and a.identity.label == ident.label)
        ]
        if extra and ident.kind != "agent" and agent_actors:
            # Invariant 2: a human-looking commit pushed or opened by an agent's identity is agent work.
            pushed = highest(a.identity.autonomy for a in agent_actors) or "supervised"
            ident = Identity("agent", agent_actors[0].identity.vendor, (*extra, *ident.evidence), pushed)
        elif extra:
            level = highest([ident.autonomy, *(a.identity.autonomy for a in agent_actors)])
            ident = Identity(
                ident.kind, ident.vendor, (*ident.evidence, *extra), level if ident.kind == "agent" else None
            )
        c.identity = ident
    for c in change.tagged_commits.values():  # a tag's target, new in this change or not
        known = change.commit(c.sha)
        c.identity = known.identity if known is not None else identify_commit(c, fp, change.source_ref)
    change.identity = _change_identity(change, deciding)
    bots = sorted(
        {i.vendor for i in [*(c.identity for c in change.commits), *(a.identity for a in deciding)]
         if i.kind == "unknown" and i.vendor}
    )  # fmt: skip
    if bots:
        change.notes.append(
            f"bot account(s) the catalogue does not know: {', '.join(bots[:5])}; judged as unknown (gated "
            "like an agent on protected changes). Declare each under identity.accounts as automation or agent"
        )


# ----------------------------------------------------------------------------- audit command


def _range_revs(repo: GitRepo, rev_range: str) -> list[str]:
    """`A..B`, `A...B` or a single rev, with every endpoint checked (a clear error, not a git trace)."""
    text = rev_range.strip()
    for sep in ("...", ".."):
        if sep in text:
            left, _, right = text.partition(sep)
            for side in (left, right):
                if side:
                    repo.resolve(side, "revision")
            return [text]
    repo.resolve(text, "revision")
    return [text]


def _metadata_text(c: Commit) -> str:
    a, m = c.author, c.committer
    return "\n".join((c.message, a.name, a.email, m.name, m.email))


def identify_range(
    repo: GitRepo,
    rev_range: str,
    policy: Policy,
    progress: Callable[[int], None] | None = None,
    *,
    extra: Sequence[str] = (),
    on_commit: Callable[[Commit, Identity], None] | None = None,
) -> dict[str, Any]:
    """One row per commit in `rev_range` plus counts by kind and vendor, in one `git log` pass.

    `extra`: more `git log` arguments (e.g. `--since=2026-01-01`); `on_commit`: called with each
    commit and its identity (the activity report reads dates and trailers there, no second pass)."""
    fp = load_fingerprints(policy)
    rows: list[dict[str, Any]] = []
    kinds: Counter[str] = Counter()
    vendors: Counter[str] = Counter()
    for n, c in enumerate(repo.iter_commits(_range_revs(repo, rev_range), extra), 1):
        ident = identify_commit(c, fp)
        if on_commit is not None:
            on_commit(c, ident)
        # Evidence quotes the commit, cut short: mask the secrets its full metadata holds. One
        # scan over the message (trailers are lines of it) and the people, not one per field.
        red = Redactor()
        red.learn(_metadata_text(c))
        row = {"sha": c.sha, "kind": ident.kind, "vendor": ident.vendor, "autonomy": ident.autonomy}
        rows.append({**row, "evidence": red.apply([e.to_dict() for e in ident.evidence])})
        kinds[ident.kind] += 1
        if ident.vendor:
            vendors[ident.vendor] += 1
        if progress is not None and n % 1000 == 0:
            progress(n)
    if progress is not None:
        progress(len(rows))
    return {
        "commits": rows,
        "summary": {
            "total": len(rows),
            "by_kind": {k: kinds[k] for k in ("agent", "automation", "human", "unknown") if kinds[k]},
            "by_vendor": dict(sorted(vendors.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
    }


def _clean(text: str) -> str:
    """Untrusted text on one terminal line: no control characters, bounded length."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:120]


def render_identify_text(result: dict[str, Any]) -> str:
    lines: list[str] = []
    for row in result["commits"]:
        label = f"{row['kind']}:{row['vendor']}" if row["vendor"] else row["kind"]
        label += f" ({row['autonomy']})" if row.get("autonomy") else ""
        kind = row["kind"]
        why = next((e for e in row["evidence"] if _kind_of(e["points_to"]) == kind), None)
        reason = f"{why['signal']}: {why['value']}" if why else ""
        lines.append(f"{row['sha'][:12]}  {label:<28} {_clean(reason)}".rstrip())
    s = result["summary"]
    lines.append("")
    kinds = ", ".join(f"{k} {v}" for k, v in s["by_kind"].items()) or "none"
    lines.append(f"{s['total']} commits: {kinds}")
    if s["by_vendor"]:
        lines.append("by vendor: " + ", ".join(f"{k} {v}" for k, v in s["by_vendor"].items()))
    return "\n".join(lines) + "\n"
