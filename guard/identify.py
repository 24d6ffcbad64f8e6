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

This module judges one commit or one account against the catalogue (guard/fingerprints.py);
identify_change.py fuses them for a change or a range. Names in prose ("Claude suggested...") are
never evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from guard.attribution import person_points, squashed_trailers, text_evidence, trailer_points
from guard.autonomy import commit_level
from guard.fingerprints import Fingerprints, Print
from guard.model import (
    UNKNOWN_PUSHER,
    Actor,
    Approval,
    Commit,
    Evidence,
    Identity,
    IdentityKind,
    Person,
)

if TYPE_CHECKING:
    pass


NOREPLY = "users.noreply.github.com"
MAX_EVIDENCE = 16  # per commit: a hostile message with 10k trailers must not bloat reports


_PERSON = re.compile(r"^\s*(.*?)\s*<([^<>]*)>")


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


def _lookup_order(fp: Fingerprints, person: Person) -> Iterator[Print]:
    """Every fingerprint a git identity could match, in precedence order: account id, login,
    address, address glob, a login-looking name, name regex."""
    email = person.email.strip().lower()
    name = person.name.strip()
    gh = noreply_account(email)
    if gh is not None:
        uid, login = gh
        for key in ([f"{uid}+{login}", uid] if uid else []) + [login]:
            yield from fp.accounts.get(key, ())
    yield from fp.emails.get(email, ())
    for pat, p in fp.email_globs:
        if pat.match(email):
            yield p
    lname = name.lower()
    if lname and " " not in lname and not lname.isdigit():  # `dependabot[bot]`: a claimed account
        yield from fp.accounts.get(lname, ())
    for pat, p in fp.names:
        if pat.search(name):
            yield p


def _candidates(fp: Fingerprints, person: Person, role: str) -> tuple[Print, ...]:
    """The fingerprints that accept this identity in this role, up to the first that does not
    depend on the commit's subject: the part of a match that is the same for every commit."""
    name = person.name.strip()
    out: list[Print] = []
    for p in _lookup_order(fp, person):
        if p.accepts_who(role, name):
            out.append(p)
            if p.subject_re is None:
                break
    return tuple(out)


class IdentityMemo:
    """One pass's answers per (git identity, role), for one catalogue. A history repeats few
    identities; what depends on a commit (`when: subject` fingerprints) stays a candidate list
    tried per commit. Pass one to every identify_commit call of a pass; never share catalogues."""

    def __init__(self, fp: Fingerprints) -> None:
        self.fp = fp
        self._answers: dict[tuple[Person, str], tuple[tuple[Print, ...], str | None]] = {}

    def answer(self, person: Person, role: str) -> tuple[tuple[Print, ...], str | None]:
        """(candidate fingerprints, what the identity points to when none of them applies)."""
        key = (person, role)
        found = self._answers.get(key)
        if found is None:
            found = self._answers[key] = _person_answer(self.fp, person, role)
        return found


def _person_answer(fp: Fingerprints, person: Person, role: str) -> tuple[tuple[Print, ...], str | None]:
    cands = _candidates(fp, person, role)
    if cands and cands[-1].subject_re is None:  # one of them always applies
        return cands, None
    gh = noreply_account(person.email.strip().lower())
    slug = (_bot_slug(gh[1]) if gh else None) or _bot_slug(person.name)
    if slug:  # a bot account the catalogue does not know
        return cands, f"unknown:{slug}"
    return cands, person_points(fp, person, role)  # a whole-name product: "Gemini CLI <noreply@...>"


def match_person(fp: Fingerprints, person: Person, role: str, subject: str = "") -> Print | None:
    """The fingerprint a git identity matches (see _lookup_order for the precedence)."""
    for p in _candidates(fp, person, role):
        if p.accepts_subject(subject):
            return p
    return None


def _bot_slug(login: str) -> str | None:
    """`some-app[bot]` -> `some-app`: a GitHub App the catalogue does not know (kind unknown)."""
    low = login.strip().lower()
    return low[: -len("[bot]")] or None if low.endswith("[bot]") else None


def _show(person: Person) -> str:
    return f"{person.name} <{person.email}>" if person.email else person.name


def _person_evidence(
    fp: Fingerprints, person: Person, role: str, signal: str, subject: str, memo: IdentityMemo | None = None
) -> Evidence | None:
    cands, fallback = memo.answer(person, role) if memo is not None else _person_answer(fp, person, role)
    for p in cands:
        if p.accepts_subject(subject):
            return Evidence(signal, _show(person), "commit", False, p.points_to)
    return Evidence(signal, _show(person), "commit", False, fallback) if fallback else None


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


def kind_of(points_to: str) -> str:
    return points_to.split(":", 1)[0]


def _vendor_of(points_to: str) -> str | None:
    _, _, vendor = points_to.partition(":")
    return vendor or None


def _branch_name(branch: str) -> str:
    return branch.strip().removeprefix("refs/heads/").lower()


def _trailer_evidence(
    fp: Fingerprints, commit: Commit, subject: str, memo: IdentityMemo | None
) -> Iterable[Evidence]:
    for key, value in (*commit.trailers, *squashed_trailers(subject)):
        k = key.lower()
        if k == "co-authored-by":
            e = _person_evidence(
                fp, parse_person(value), "co-author", "trailer:co-authored-by", subject, memo
            )
            if e is not None:
                yield e
            continue
        for pat, p in fp.trailers.get(k, ()):
            if pat.search(value):
                yield Evidence(f"trailer:{k}", value, "commit", False, p.points_to)
                break
        else:
            points = trailer_points(fp, k, value)  # the attribution grammar (guard/attribution.py)
            if points is not None:
                yield Evidence(f"trailer:{k}", value, "commit", False, points)


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


def _new(found: list[Evidence], more: list[Evidence]) -> list[Evidence]:
    """Grammar hits that a catalogue line of the same signal did not already report."""
    if not more:
        return more
    have = {(e.signal, e.points_to) for e in found}
    return [e for e in more if (e.signal, e.points_to) not in have]


def commit_evidence(
    commit: Commit,
    fp: Fingerprints,
    branch: str | None = None,
    description: str | None = None,
    runner: tuple[Evidence, ...] = (),
    memo: IdentityMemo | None = None,
) -> list[Evidence]:
    """Everything the commit (its branch, and the PR/MR that carries it) says about who made it,
    claimed, deduplicated. A PR body is writable by anyone, like a message: claimed evidence that
    can only make a change stricter (Codex cloud and Jules-as-user PRs leave their markers there)."""
    subject = commit.subject
    found: list[Evidence] = []
    a = _person_evidence(fp, commit.author, "author", "author", subject, memo)
    if a is not None:
        found.append(a)
    if commit.committer != commit.author:
        c = _person_evidence(fp, commit.committer, "committer", "committer", subject, memo)
        if c is not None:
            found.append(c)
    found.extend(_trailer_evidence(fp, commit, subject, memo))
    hit = fp.subject.search(subject)
    if hit is not None:
        found.append(Evidence("subject", subject[:200], "commit", False, hit[0].points_to))
    hit = fp.body.search(commit.message[len(subject) :])
    if hit is not None:
        found.append(Evidence("body", hit[1][:200], "commit", False, hit[0].points_to))
    found.extend(_new(found, text_evidence(fp, commit.message, "body", "commit", len(subject))))
    found.extend(runner)  # an agent runtime pushing/checking this range: every commit in it
    if description:
        hit = fp.body.search(description[:MAX_DESCRIPTION])
        if hit is not None:
            found.append(Evidence("pr-body", hit[1][:200], "pull-request", False, hit[0].points_to))
        found.extend(_new(found, text_evidence(fp, description[:MAX_DESCRIPTION], "pr-body", "pull-request")))
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
    ev.sort(key=lambda e: kind_of(e.points_to) != kind)  # stable
    return Identity(kind, vendor, tuple(ev[:MAX_EVIDENCE]), level)


def identify_commit(
    commit: Commit,
    fp: Fingerprints,
    branch: str | None = None,
    description: str | None = None,
    runner: tuple[Evidence, ...] = (),
    memo: IdentityMemo | None = None,
) -> Identity:
    """One commit's identity from its own metadata (and its branch, PR/MR text and the runtime
    the guard runs in, when known). `memo`: one IdentityMemo per pass over many commits."""
    ev = commit_evidence(commit, fp, branch, description, runner, memo)
    for e in ev:
        if kind_of(e.points_to) == "agent":
            found = _verdict("agent", _vendor_of(e.points_to), ev)
            self_committed = commit.committer == commit.author and any(
                x.signal == "author" and kind_of(x.points_to) == "agent" for x in ev
            )  # an agent identity that also committed: it worked on its own
            return replace(found, autonomy="autonomous") if self_committed else found
    by_signal = {e.signal: e for e in ev if e.signal in ("author", "committer")}
    author = by_signal.get("author")
    committer = by_signal.get("committer")
    if author is not None and kind_of(author.points_to) == "automation":
        return _verdict("automation", _vendor_of(author.points_to), ev)
    if author is not None and kind_of(author.points_to) == "unknown":  # a bot nobody declared
        return _verdict("unknown", _vendor_of(author.points_to), ev)
    if looks_like_person(fp, commit.author):
        human = Evidence("author", _show(commit.author), "commit", False, "human")
        return _verdict("human", None, [human, *ev])
    if committer is not None and kind_of(committer.points_to) == "automation":
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


# (login, account id, account type) -> is this platform account an agent?
IsAgent = Callable[[str, "str | None", "str | None"], bool]


def agent_account_test(fp: Fingerprints) -> IsAgent:
    """The doors' question about a platform account, answered by the catalogue."""

    def is_agent(login: str, uid: str | None, kind: str | None) -> bool:
        return identify_actor(Actor(login, "account", "platform-api", id=uid, type=kind), fp).kind == "agent"

    return is_agent


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
