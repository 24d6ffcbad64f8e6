"""CODEOWNERS: who owns a path, for step-up rules that require a code owner's approval.

GitHub and GitLab semantics: gitignore-style patterns, the *last* matching line wins, a line with
a pattern and no owners un-assigns the path. GitLab `[Section]` headers are read as plain
comments (their lines still count). Read at the trusted ref, like the policy: a change cannot
make itself the owner of what it touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pathspec

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
MAX_LINES = 20_000


@dataclass(frozen=True)
class CodeOwners:
    rules: tuple[tuple[str, tuple[str, ...]], ...]  # (pattern, owners) in file order
    source: str = "CODEOWNERS"

    @cached_property
    def _compiled(self) -> list[tuple[Any, tuple[str, ...]]]:
        out: list[tuple[Any, tuple[str, ...]]] = []
        for pattern, owners in self.rules:
            try:
                out.append((pathspec.GitIgnoreSpec.from_lines([pattern]), owners))
            except (ValueError, TypeError):
                continue  # an invalid line is skipped, as the platforms do
        return out

    def owners_for(self, path: str) -> tuple[str, ...]:
        """The owners of `path` (the last matching line wins); () when nobody owns it."""
        found: tuple[str, ...] = ()
        for spec, owners in self._compiled:
            if spec.match_file(path):
                found = owners
        return found


def parse(text: str, source: str = "CODEOWNERS") -> CodeOwners:
    rules: list[tuple[str, tuple[str, ...]]] = []
    for raw in text.splitlines()[:MAX_LINES]:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("[") or line.startswith("^["):
            continue
        pattern, *owners = line.split()
        rules.append((pattern, tuple(o for o in owners if o.startswith("@") or "@" in o)))
    return CodeOwners(tuple(rules), source)


def normalise(owner: str) -> str:
    """`@Alice` and `alice` compare equal; teams keep their `@org/team` form."""
    return owner.lower() if owner.startswith("@") else f"@{owner.lower()}"
