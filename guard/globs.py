"""Gitignore/CODEOWNERS-style path globs, matched the way checkouts open files.

By default patterns and paths are both NFC-normalised and case-folded: a macOS or Windows
checkout opens `.Claude/settings.json` as `.claude/settings.json`, and an NFD-encoded name as its
NFC twin. Shared by the checks, the doors (which of a change's files are the guard's own) and
the policy.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache

import pathspec


@lru_cache(maxsize=256)
def compile_globs(patterns: tuple[str, ...]) -> pathspec.PathSpec:  # type: ignore[type-arg]
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def fold_path(text: str) -> str:
    """The name a case-insensitive, normalisation-insensitive file system opens (NFC, case-folded)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def path_matcher(patterns: tuple[str, ...], case_insensitive: bool = True) -> Callable[[str], bool]:
    """`path -> matched?` for gitignore-style globs; folded on both sides unless told otherwise."""
    if not case_insensitive:
        return compile_globs(patterns).match_file
    spec = compile_globs(tuple(fold_path(p) for p in patterns))
    return lambda path: spec.match_file(fold_path(path))
