"""The fingerprint catalogue (rules/agents.yml plus a policy's identity.accounts), compiled once.

Lookups are dict hits on lower-cased ids, logins and addresses; the few regexes are compiled once
into one alternation per field, so a 100k-commit range costs one `git log` plus microseconds per
commit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.errors import UsageError
from guard.model import (
    IdentityKind,
)

if TYPE_CHECKING:
    from guard.policy import Account, Policy

ROLES = ("author", "committer", "co-author")


_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


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

    def accepts_who(self, role: str, name: str) -> bool:
        """The subject-free part of `accepts` (what a pass can remember per identity)."""
        if role not in self.roles:
            return False
        return self.name_re is None or bool(self.name_re.search(name))

    def accepts_subject(self, subject: str) -> bool:
        return self.subject_re is None or bool(self.subject_re.search(subject))

    def accepts(self, role: str, name: str, subject: str) -> bool:
        return self.accepts_who(role, name) and self.accepts_subject(subject)


@dataclass
class _Alternation:
    """Many regexes as one compiled alternation; a match names the entry that owns it."""

    pattern: re.Pattern[str] | None = None
    owners: dict[str, Print] = field(default_factory=dict)
    # A literal every match starts with, one per alternative (None when one has none): most texts
    # hold none of them, and `in` tests are ~10x cheaper than `re` trying each alternative at
    # every position (identify runs this over every message of a history).
    needles: tuple[str, ...] | None = None

    def search(self, text: str) -> tuple[Print, str] | None:
        if self.pattern is None:
            return None
        if self.needles is not None:
            for needle in self.needles:
                if needle in text:
                    break
            else:
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
    alias_names: dict[str, Print] = field(default_factory=dict)  # a whole name that is an alias
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
            self.fp.alias_names.setdefault(a.strip().lower(), p)
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


_META = frozenset("\\.^$*+?{}[]()|")


def _top_level_bar(rx: str) -> bool:
    """An `|` outside every group and class: `a|b` has no common literal start."""
    depth, escaped, in_class = 0, False, False
    for ch in rx:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth <= 0:
            return True
    return False


def literal_prefix(rx: str) -> str | None:
    """The literal text every match of `rx` starts with (after a leading `^`), or None when it
    has none worth testing: a top-level `|`, inline flags, or fewer than 3 characters."""
    if rx.startswith("(?") or _top_level_bar(rx):
        return None
    i = 1 if rx.startswith("^") else 0
    out: list[str] = []
    while i < len(rx):
        ch = rx[i]
        if ch == "\\":
            nxt = rx[i + 1 : i + 2]
            if not nxt or nxt.isalnum():  # \d, \b, \1...: a class or an assertion, not a literal
                break
            ch, step = nxt, 2
        elif ch in _META:
            break
        else:
            step = 1
        if rx[i + step : i + step + 1] in ("?", "*", "+", "{"):  # optional or repeated: not fixed
            break
        out.append(ch)
        i += step
    return "".join(out) if len(out) >= 3 else None


def _alternation(items: list[tuple[str, Print]], flags: int) -> _Alternation:
    if not items:
        return _Alternation()
    owners = {f"g{i}": p for i, (_, p) in enumerate(items)}
    joined = "|".join(f"(?P<g{i}>{_scoped(rx)})" for i, (rx, _) in enumerate(items))
    prefixes = [literal_prefix(rx) for rx, _ in items]
    needles = None
    if not flags & re.IGNORECASE and all(prefixes):
        needles = tuple(dict.fromkeys(p for p in prefixes if p))
    return _Alternation(re.compile(joined, flags), owners, needles)


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
