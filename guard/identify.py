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
from collections.abc import Callable, Iterable, Mapping
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
    points = person_points(fp, person, role)  # a whole-name product: "Gemini CLI <noreply@...>"
    return Evidence(signal, _show(person), "commit", False, points) if points else None


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


def _trailer_evidence(fp: Fingerprints, commit: Commit, subject: str) -> Iterable[Evidence]:
    for key, value in (*commit.trailers, *squashed_trailers(subject)):
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
) -> Identity:
    """One commit's identity from its own metadata (and its branch, PR/MR text and the runtime
    the guard runs in, when known)."""
    ev = commit_evidence(commit, fp, branch, description, runner)
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
