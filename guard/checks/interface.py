"""The check interface: what every rule kind's check receives, and what it says about itself.

A check is `check(ctx, rule) -> list[Finding]` in one module, listed with its metadata in
guard/checks/registry.py. `CheckContext` carries everything a run knows beyond the change: the
trusted policy and what the door read at the trusted ref (secrets baseline, CODEOWNERS, the files
privileged CI runs). Facts derived from the change (parsed CI, secret scan records) are computed
once per run and kept on the change itself (`per_change`, changeio.py), never in module state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from guard.model import Change, Finding

if TYPE_CHECKING:
    from guard.checks.ci_reach import Reach
    from guard.codeowners import CodeOwners
    from guard.policy import Policy, Rule

DOCS = "https://github.com/pipeline-guard/pipeline-guard/blob/main/docs"


@dataclass
class CheckContext:
    change: Change
    policy: Policy
    baseline: dict[str, frozenset[str]] | None = None  # path -> secret hashes, at the trusted ref
    codeowners: CodeOwners | None = None
    ci_reach: dict[str, Reach] = field(default_factory=dict)  # derived at the trusted ref


class CheckFn(Protocol):
    def __call__(self, ctx: CheckContext, rule: Rule) -> list[Finding]: ...


@dataclass(frozen=True)
class CheckMeta:
    """What a check is, for `--help`, SARIF rule descriptors and the docs."""

    id: str  # "secrets"
    kind: str  # the policy rule kind it serves: path, secret, permission, release, identity
    categories: tuple[str, ...]  # the finding categories it emits (families, e.g. "<detector>")
    description: str
    docs: str  # a page under docs/, with anchor

    @property
    def help_uri(self) -> str:
        return f"{DOCS}/{self.docs}"
