"""detect-secrets baseline files: the hashed secrets a team has already reviewed.

The baseline must be read at the trusted ref (never from the change under judgement: a change
could otherwise whitelist its own leak); the door hands its text to `set_trusted_baseline`.
"""

from __future__ import annotations

import json

from guard.errors import UsageError


def load_baseline(text: str, where: str = ".secrets.baseline") -> dict[str, frozenset[str]]:
    """Baseline JSON -> {path: hashed secrets (SHA-1 hex)}; a clear error on a malformed file."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise UsageError(f"not a detect-secrets baseline (invalid JSON: {e})", where=where) from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict):
        raise UsageError("not a detect-secrets baseline (no `results` mapping)", where=where)
    out: dict[str, frozenset[str]] = {}
    for path, entries in results.items():
        if not isinstance(entries, list):
            raise UsageError(f"results.{path}: must be a list", where=where)
        hashes = {e.get("hashed_secret") for e in entries if isinstance(e, dict)}
        out[str(path)] = frozenset(h.lower() for h in hashes if isinstance(h, str))
    return out
