"""Policy schema (pydantic), loading, `extends` merging and built-in packs.

The policy is data: rules with an id, a kind, the actors they apply to, what they match and an
action. Loading never trusts the change under judgement: callers hand in the bytes read at the
trusted ref (see `trusted.py`), and every error names the file, line and field.

Length: the schema is one declaration a reader checks in one place (every model, default and
validator of the policy file); splitting it would scatter the contract users write against.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml

# Policy validation is the judge's own: no pydantic plugin installed beside the guard observes or
# alters it, and not scanning every installed distribution for plugins saves ~70 ms a start.
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from guard.errors import UsageError
from guard.model import Action, Mode


def _rules_dir() -> Path:
    """Built-in packs: shipped inside the wheel as guard/rules, or top-level rules/ in a checkout."""
    here = Path(__file__).resolve().parent
    for cand in (here / "rules", here.parent / "rules"):
        if (cand / "default.yml").is_file():
            return cand
    return here / "rules"


RULES_DIR = _rules_dir()
POLICY_FILES = (".pipeline-guard.yml", ".github/pipeline-guard.yml")
BUILTIN_PREFIX = "builtin:"
MAX_POLICY_BYTES = 1_000_000
MAX_BINARY_CAP = 1_000_000_000  # the ceiling secrets.max_binary_bytes may be set to (1 GB)

ActorSel = Literal[
    "agent", "human", "automation", "unknown", "any", "agent:autonomous", "agent:supervised", "agent:assisted"
]
RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ----- match blocks, one per rule kind (each check owns the meaning of its block) -----


class PathMatch(_Strict):
    paths: list[str] = Field(default_factory=list, description="gitignore-style globs")
    groups: list[str] = Field(default_factory=list, description="names of path_groups")
    exclude: list[str] = Field(default_factory=list, description="globs that never match")
    guard_files: bool = Field(False, description="also match the CI files that run the guard")
    policy_files: bool = Field(False, description="also match the guard's own policy files")
    statuses: list[str] = Field(
        default_factory=list, description="only these statuses (added, modified, deleted, renamed, ...)"
    )
    symlinks_into: bool = Field(True, description="a new symlink whose target lies in a matched path")
    case_insensitive: bool = Field(
        True,
        description="match NFC-normalised and case-folded, as macOS and Windows checkouts open files "
        "(`.Claude/settings.json` is `.claude/settings.json`); false: byte-exact",
    )


class SecretMatch(_Strict):
    detectors: list[str] = Field(default_factory=list, description="only these detectors (empty: all)")
    exclude_detectors: list[str] = Field(default_factory=list)
    exclude_paths: list[str] = Field(default_factory=list, description="globs never scanned")
    min_confidence: Literal["low", "medium", "high"] = "medium"


class PermissionMatch(_Strict):
    categories: list[str] = Field(default_factory=list, description="only these categories (empty: all)")
    exclude_categories: list[str] = Field(default_factory=list)


class ReleaseMatch(_Strict):
    categories: list[str] = Field(default_factory=list, description="only these categories (empty: all)")
    exclude_categories: list[str] = Field(default_factory=list)
    release_branches: list[str] = Field(default_factory=lambda: ["release/*", "releases/*", "hotfix/*"])
    tags: list[str] = Field(default_factory=lambda: ["*"], description="tag name globs that are releases")


class IdentityMatch(_Strict):
    categories: list[str] = Field(default_factory=list, description="only these categories (empty: all)")
    paths: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    case_insensitive: bool = Field(True, description="as in path rules: NFC-normalised, case-folded")


MATCH_MODELS: dict[str, type[_Strict]] = {
    "path": PathMatch,
    "secret": SecretMatch,
    "permission": PermissionMatch,
    "release": ReleaseMatch,
    "identity": IdentityMatch,
}


class StepUpSpec(_Strict):
    approvals: int = Field(1, ge=1, le=20, description="how many qualifying human approvals")
    from_: list[str] = Field(
        default_factory=list,
        alias="from",
        description="logins or @org/team that may approve; empty: any human with write access",
    )
    codeowners: bool = Field(False, description="approver must own the matched paths in CODEOWNERS")
    min_permission: Literal["triage", "write", "maintain", "admin"] = "write"
    allow_pr_author: bool = False
    allow_delegator: bool = Field(False, description="the person who delegated the task to the agent")
    labels: list[str] = Field(
        default_factory=lambda: ["pipeline-guard:approved"],
        description="a label applied by an eligible person after the last push counts as approval",
    )


class Rule(_Strict):
    id: Annotated[str, Field(pattern=RULE_ID)]
    kind: Literal["path", "secret", "permission", "release", "identity"]
    action: Action
    actors: list[ActorSel] = Field(default_factory=lambda: list[ActorSel](["agent"]))
    match: dict[str, Any] = Field(default_factory=dict)
    message: str | None = None
    branches: list[str] = Field(default_factory=list, description="only when the target branch matches")
    step_up: StepUpSpec | None = None
    enabled: bool = True

    @field_validator("actors")
    @classmethod
    def _actors_nonempty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("must name at least one of agent, human, automation, unknown, any")
        return v

    @model_validator(mode="after")
    def _validate_match(self) -> Rule:
        # Validate (and normalise) the kind-specific match block; errors carry the field path.
        try:
            self.match = MATCH_MODELS[self.kind].model_validate(self.match).model_dump(by_alias=True)
        except ValidationError as e:
            first = e.errors()[0]
            sub = ".".join(str(p) for p in ("match", *first["loc"]))
            raise ValueError(f"{sub}: {first['msg']}") from None
        return self

    def matcher(self) -> Any:
        """The typed match block (PathMatch, SecretMatch, ...)."""
        return MATCH_MODELS[self.kind].model_validate(self.match)

    def applies_to(self, kinds: Iterable[str]) -> bool:
        return "any" in self.actors or bool(set(kinds) & set(self.actors))


class Account(_Strict):
    """An organisation's own agent service account or bot (extends rules/agents.yml)."""

    kind: Literal["agent", "automation", "human"] = "agent"
    vendor: str = Field(description="agent vendor or bot name, e.g. 'claude-code', 'internal-bot'")
    logins: list[str] = Field(default_factory=list)
    ids: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list, description="exact addresses or globs")


class IdentityConfig(_Strict):
    accounts: list[Account] = Field(default_factory=list)
    fingerprints: list[dict[str, Any]] = Field(
        default_factory=list, description="extra entries in the rules/agents.yml format"
    )
    agent_branches: bool = Field(True, description="treat agent branch prefixes as (claimed) evidence")


TierAction = Literal["block", "step-up", "warn"]  # never "allow": a credential is never let through silently

# Where secrets in tests, fixtures and examples live (gitignore syntax, like exclude_paths).
DEFAULT_TEST_PATHS = (
    "**/tests/**", "**/test/**", "**/__tests__/**", "**/__mocks__/**", "**/fixtures/**",
    "**/testdata/**", "**/test-data/**", "**/spec/**", "**/examples/**", "**/example/**",
    "**/samples/**", "**/sample/**", "*_test.go", "test_*.py", "*_test.py", "conftest.py",
    "*.test.js", "*.test.ts", "*.test.jsx", "*.test.tsx", "*.spec.js", "*.spec.ts", "*_spec.rb",
    "*_test.rb", "*Test.java", "*Tests.java", "*IT.java", "*Test.kt", "*Tests.cs", "*.example",
    "*.sample", ".env.example", ".env.sample", ".env.test",
)  # fmt: skip


class HighTier(_Strict):
    """Provider formats and private keys: a real format is a real leak wherever it is."""

    code: TierAction = "block"
    tests: TierAction = "block"


class GenericTier(_Strict):
    """Values recognised by the name they are assigned to: test fixtures are full of sample ones."""

    code: TierAction = "block"
    tests: TierAction = "step-up"


class SecretTiers(_Strict):
    high: HighTier = Field(default_factory=HighTier)
    generic: GenericTier = Field(default_factory=GenericTier)

    def action(self, tier: str, in_tests: bool) -> TierAction:
        t: HighTier | GenericTier = self.generic if tier == "generic" else self.high
        return t.tests if in_tests else t.code


class SecretsConfig(_Strict):
    tiers: SecretTiers = Field(
        default_factory=SecretTiers,
        description="action per confidence tier (high, generic) and context (code, tests); the rule's "
        "own action is the ceiling",
    )
    test_paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TEST_PATHS),
        description="globs (gitignore syntax) of tests, fixtures and examples: the `tests` context",
    )
    baseline: str | None = Field(None, description="detect-secrets baseline file, read at the trusted ref")
    honour_pragmas_added_in_change: bool = Field(
        False, description="a 'pragma: allowlist secret' added by the change itself silences a finding"
    )
    max_line_length: int = Field(20_000, ge=100)
    max_file_bytes: int = Field(5_000_000, ge=1000)
    max_binary_bytes: int = Field(
        50_000_000,
        ge=1000,
        le=MAX_BINARY_CAP,
        description="binary blobs up to this size (at most 1 GB) have their printable runs scanned, "
        "streamed; a larger one is a scan-incomplete finding (step-up), never a pass",
    )


class BreakGlassConfig(_Strict):
    """An emergency override of a step-up by a person; never of a block, never by an agent."""

    enabled: bool = True
    allowed: list[str] = Field(
        default_factory=list,
        description="logins or @org/team who may break glass; empty: any eligible person",
    )
    label: str = Field("pipeline-guard:break-glass", description="GitHub/GitLab label that requests it")
    push_option: str = Field("pipeline-guard.break-glass", description="pre-receive: -o <name>=<reason>")
    min_reason_chars: int = Field(10, ge=1, description="a reason is required")


class ServerConfig(_Strict):
    """The pre-receive door (docs/prereceive.md)."""

    budget_seconds: float = Field(
        4.0, gt=0, le=300, description="time for the whole hook, start-up included (GHES allows 5 s)"
    )
    on_timeout: Literal["reject", "warn-verified-humans"] = Field(
        "reject",
        description="when the budget runs out: reject the push, or let a verified human pusher through "
        "with a warning (never an agent pusher, never agent commits seen so far)",
    )
    allowed_signers: str | None = Field(
        None,
        description="git allowed-signers file of human SSH keys; a head commit or annotated tag signed by "
        "one counts as step-up (default: git config gpg.ssh.allowedSignersFile, else signatures are off)",
    )
    push_option_approval: bool = Field(
        False,
        description="accept -o pipeline-guard.approve=<reason> from a verified human pusher. Off by "
        "default: an agent running with the person's own credentials can type a push option",
    )
    push_option_break_glass: bool = Field(
        False,
        description="accept -o pipeline-guard.break-glass=<reason> from a verified human pusher (needs "
        "break_glass.enabled). Off by default for the same reason as push_option_approval",
    )
    pusher_env: str | None = Field(None, description="plain git: variable that names the pusher")
    audit_log: str | None = Field(None, description="append one JSON line per push to this file")


class Policy(_Strict):
    version: Literal[1] = 1
    extends: list[str] = Field(default_factory=lambda: ["builtin:default"])
    mode: Mode = "enforce"
    allow_weaker_mode: bool = Field(
        False, description="let a command-line/workflow input switch enforce to advisory"
    )
    default_branch: str | None = None
    protected_refs: list[str] = Field(default_factory=lambda: ["main", "master", "release/*"])
    path_groups: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    step_up: StepUpSpec = Field(default_factory=StepUpSpec)  # type: ignore[arg-type]
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)  # type: ignore[arg-type]
    server: ServerConfig = Field(default_factory=ServerConfig)  # type: ignore[arg-type]
    break_glass: BreakGlassConfig = Field(default_factory=BreakGlassConfig)  # type: ignore[arg-type]
    # Repository files this policy was built from (its file, the files it extends): set by
    # trusted.py, never by the policy text. They decide verdicts, so `policy_files` rules match them.
    _read_from: tuple[str, ...] = PrivateAttr(default=())

    def record_sources(self, names: tuple[str, ...]) -> None:
        self._read_from = tuple(dict.fromkeys(names))

    def verdict_files(self) -> tuple[str, ...]:
        """Repository paths that decide verdicts besides the code: the default policy locations,
        the files this policy came from and its secret baseline."""
        baseline = (self.secrets.baseline.lstrip("/"),) if self.secrets.baseline else ()
        return tuple(dict.fromkeys((*POLICY_FILES, *self._read_from, *baseline)))

    @model_validator(mode="after")
    def _check_refs(self, info: ValidationInfo) -> Policy:
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.id in seen:
                raise ValueError(f"rules.{i}.id: duplicate rule id {rule.id!r}")
            seen.add(rule.id)
            # A layer may name groups its parents define: check references only on the merged policy.
            if info.context and info.context.get("partial"):
                continue
            for g in rule.match.get("groups", []) or []:
                if g not in self.path_groups:
                    raise ValueError(f"rules.{i}.match.groups: unknown path group {g!r} (rule {rule.id})")
        return self

    def active_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def group_paths(self, names: list[str]) -> list[str]:
        out: list[str] = []
        for n in names:
            out.extend(self.path_groups.get(n, []))
        return out

    def step_up_for(self, rule: Rule) -> StepUpSpec:
        return rule.step_up or self.step_up

    def digest(self) -> str:
        data = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


# ----- loading -----


def _line_of(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Best-effort line number (1-based) of a pydantic error location in the YAML source."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == part:
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


_SUBPATH = re.compile(r"^([A-Za-z_][\w-]*(?:\.[\w-]+)*): (.*)$", re.S)


def _format_validation(err: ValidationError, text: str, where: str) -> str:
    first = err.errors()[0]
    loc: tuple[str | int, ...] = tuple(
        p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))
    )
    msg = first["msg"].removeprefix("Value error, ")
    m = _SUBPATH.match(msg)
    if m:  # validators raise "sub.path: message"; append the sub path to the location
        loc += tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
        msg = m.group(2)
    field = ".".join(str(p) for p in loc) or "(top level)"
    line = _line_of(text, loc)
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{where}:{line or 1}: {field}: {msg}{more}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def parse_policy_text(text: str, where: str) -> dict[str, Any]:
    """YAML text -> mapping, with a one-line error naming file and line."""
    from guard.safeyaml import DocumentError, load_yaml

    if len(text) > MAX_POLICY_BYTES:
        raise UsageError(f"policy is larger than {MAX_POLICY_BYTES} bytes", where=where)
    try:  # capped: size, nesting, aliases (an alias bomb in a policy ends here, not in pydantic)
        data = load_yaml(text, where, max_bytes=MAX_POLICY_BYTES, max_depth=50, max_nodes=50_000)
    except DocumentError as e:
        raise UsageError(f"{where}:{e.line or 1}: invalid YAML: {_one_line(e.reason)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{where}:1: (top level): a policy must be a mapping, got {type(data).__name__}")
    return data


def _builtin_text(name: str) -> str:
    path = RULES_DIR / f"{name}.yml"
    if not path.is_file() or "/" in name or name.startswith("."):
        raise UsageError(f"unknown built-in policy pack {BUILTIN_PREFIX}{name}")
    return path.read_text(encoding="utf-8")


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child overrides base: rules by id (replace whole rule), path_groups by name, sections by key."""
    out = dict(base)
    for key, value in child.items():
        if key == "extends":
            continue
        if key == "rules" and isinstance(value, list):
            merged = {r.get("id"): r for r in out.get("rules", []) if isinstance(r, dict)}
            order = list(merged)
            for r in value:
                rid = r.get("id") if isinstance(r, dict) else None
                if rid in merged and isinstance(r, dict) and set(r) <= {"id", "enabled"}:
                    merged[rid] = {**merged[rid], **r}  # `{id: x, enabled: false}` just switches it off
                else:
                    merged[rid] = r
                    if rid not in order:
                        order.append(rid)
            out["rules"] = [merged[k] for k in order]
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


Reader = Callable[[str], str | None]


def load_policy_data(
    text: str, where: str, read_relative: Reader | None = None, _depth: int = 0
) -> dict[str, Any]:
    """Resolve `extends` (built-in packs or files read through `read_relative`) into one mapping."""
    if _depth > 8:
        raise UsageError("extends: chain deeper than 8 (a cycle?)", where=where)
    data = parse_policy_text(text, where)
    layer = {**data, "extends": []}
    if isinstance(layer.get("rules"), list):  # `{id, enabled}` overrides a parent rule: valid on its own
        layer["rules"] = [
            {"id": r["id"], "kind": "path", "action": "warn", "enabled": r.get("enabled", True)}
            if isinstance(r, dict) and "id" in r and set(r) <= {"id", "enabled"}
            else r
            for r in layer["rules"]
        ]
    try:  # validate this layer on its own text, so errors point at its own lines
        Policy.model_validate(layer, context={"partial": True})
    except ValidationError as e:
        raise UsageError(_format_validation(e, text, where)) from None
    extends = data.get("extends", ["builtin:default"])
    if isinstance(extends, str):
        extends = [extends]
    if not isinstance(extends, list) or not all(isinstance(e, str) for e in extends):
        line = _line_of(text, ("extends",)) or 1
        raise UsageError(f"{where}:{line}: extends: must be a list of pack names or paths")
    merged: dict[str, Any] = {}
    for parent in extends:
        if parent.startswith(BUILTIN_PREFIX):
            name = parent[len(BUILTIN_PREFIX) :]
            ptext, pwhere, preader = _builtin_text(name), f"{BUILTIN_PREFIX}{name}", None
        else:
            found = read_relative(parent) if read_relative else None
            if found is None:
                line = _line_of(text, ("extends",)) or 1
                raise UsageError(f"{where}:{line}: extends: cannot read {parent!r} at the trusted ref")
            ptext = found
            pwhere, preader = parent, read_relative
        merged = _merge(merged, load_policy_data(ptext, pwhere, preader, _depth + 1))
    return _merge(merged, data)


def build_policy(text: str, where: str, read_relative: Reader | None = None) -> Policy:
    data = load_policy_data(text, where, read_relative)
    data["extends"] = []
    try:
        return Policy.model_validate(data)
    except ValidationError as e:  # only cross-layer problems reach here (e.g. an undefined group)
        raise UsageError(
            _format_validation(e, text, where).replace(f"{where}:", f"{where} (merged):", 1)
        ) from None


def builtin_policy(name: str = "default") -> Policy:
    return build_policy(f"extends: [{BUILTIN_PREFIX}{name}]\n", f"{BUILTIN_PREFIX}{name}")


def load_policy_file(path: str | Path) -> Policy:
    """A policy file from disk (server config, `policy validate`)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read policy: {e.strerror}", where=str(p)) from None
    text = raw.decode("utf-8", errors="replace")

    def rel(name: str) -> str | None:
        q = (p.parent / name).resolve()
        return q.read_text(encoding="utf-8", errors="replace") if q.is_file() else None

    return build_policy(text, str(p), rel)


def effective_mode(policy: Policy, requested: Mode | None) -> tuple[Mode, str | None]:
    """The trusted policy sets the mode; inputs may only make it stricter unless it allows otherwise.

    Returns the mode and, when a request was refused, why (shown in the report).
    """
    if requested is None or requested == policy.mode:
        return policy.mode, None
    if requested == "enforce":
        return "enforce", None
    if policy.allow_weaker_mode:
        return "advisory", None
    return policy.mode, "advisory mode was requested, but the trusted policy does not allow weakening it"


def policy_schema() -> dict[str, Any]:
    return Policy.model_json_schema(by_alias=True)
