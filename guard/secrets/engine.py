"""The scanner: added lines in, hits out, in time linear in the size of the diff.

1. Prefilter: every detector's anchor (plus the gates of the detect-secrets plugins) joined into
   one RE2 pattern and run once over all of a file's added lines (RE2 is a DFA: one pass whatever
   the number of alternatives, no backtracking). Python's `re` is the fallback when google-re2 is
   missing: same results, several times slower.
2. Only candidate lines go on: an RE2 set tells which detectors' anchors hit the line, and only
   those detectors' exact patterns and validators run.
3. detect-secrets' plugins (keyword, entropy and the provider plugins) and its heuristic filters
   run on candidate lines that pass their gates; they are imported the first time one does.

Lines longer than `max_line_length` (minified files) are cut into overlapping segments, so no
single regex call sees an unbounded input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from guard.secrets.detectors import DETECTORS, Ctx, Detector
from guard.secrets.filters import hash_context, is_hex_digest, is_placeholder, looks_like_reference

try:  # linear-time multi-pattern engine; optional at run time
    import re2 as _re2  # type: ignore[import-untyped,import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - exercised only without google-re2
    _re2 = None

PRAGMA = "pragma: allowlist secret"
PRAGMA_NEXTLINE = "pragma: allowlist nextline secret"
SEGMENT_OVERLAP = 1024

# Gates for detect-secrets' plugins: its keyword list, its quoted high-entropy strings, and the
# providers it knows that we do not cover ourselves.
DS_GATES: tuple[str, ...] = (
    r"(?i)(?:api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key"
    r"|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contrase)",
    r"[\"'][A-Za-z0-9+/=_-]{20}",
    r"[\"'][0-9a-fA-F]{12}",
    r"(?i)(?:cloudant|ibm|softlayer|api\.softlayer|sl_?api|\bAKC[a-zA-Z0-9]{10}|\bAP[0-9A-F][a-zA-Z0-9]{8})",
)


@dataclass(frozen=True)
class Hit:
    detector: str
    value: str  # the secret itself: stays in this process, reports get redact(value)
    line: int
    confidence: str
    pragma: bool = False  # the line (or the one above, with `nextline`) carries an allowlist pragma


def _inline(anchor: str) -> str:
    return f"(?i:{anchor[4:]})" if anchor.startswith("(?i)") else f"(?:{anchor})"


class _Prefilter:
    """One combined pattern for candidate lines, one set to tell which gates a line hit."""

    def __init__(self, anchors: Sequence[str]) -> None:
        combined = "|".join(_inline(a) for a in anchors)
        self.re2 = _re2 is not None
        if _re2 is not None:
            opts = _re2.Options()
            opts.max_mem = 256 << 20
            self.combined: Any = _re2.compile(combined.encode(), opts)
            self.set: Any = _re2.Set.SearchSet(opts)
            for a in anchors:
                self.set.Add(a)
            self.set.Compile()
        else:
            self.combined = re.compile(combined.encode())
            self.singles = [re.compile(a) for a in anchors]

    def candidates(self, texts: Sequence[str]) -> list[int]:
        """Indices of texts with at least one anchor hit, from one pass over all of them."""
        blob = "\n".join(texts).encode("utf-8", "surrogatepass")
        out: list[int] = []
        line = 0
        pos = 0
        for m in self.combined.finditer(blob):
            start = m.start()
            line += blob.count(b"\n", pos, start)
            pos = start
            if not out or out[-1] != line:
                out.append(line)
        return out

    def which(self, text: str) -> list[int]:
        if self.re2:
            return sorted(self.set.Match(text))
        return [i for i, r in enumerate(self.singles) if r.search(text)]


@lru_cache(maxsize=1)
def _prefilter() -> _Prefilter:
    return _Prefilter([d.anchor for d in DETECTORS] + list(DS_GATES))


def _segments(lines: Iterable[tuple[int, str]], max_len: int) -> tuple[list[int], list[str]]:
    numbers: list[int] = []
    texts: list[str] = []
    step = max(max_len - SEGMENT_OVERLAP, 1)
    for number, text in lines:
        if len(text) <= max_len:
            numbers.append(number)
            texts.append(text)
            continue
        for start in range(0, len(text), step):
            numbers.append(number)
            texts.append(text[start : start + max_len])
            if start + max_len >= len(text):
                break
    return numbers, texts


def scan_lines(path: str, lines: Sequence[tuple[int, str]], *, max_line_length: int = 20_000) -> list[Hit]:
    """Every secret in `lines` ((line number, text) pairs of one file, in order)."""
    numbers, texts = _segments(lines, max_line_length)
    pf = _prefilter()
    n_own = len(DETECTORS)
    hits: dict[tuple[int, str, str], Hit] = {}
    for i in pf.candidates(texts):
        text = texts[i]
        gates = pf.which(text)
        if not gates:
            continue
        number = numbers[i]
        nxt = texts[i + 1] if i + 1 < len(texts) else None
        prev = texts[i - 1] if i > 0 and numbers[i - 1] == number - 1 else ""
        pragma = PRAGMA in text or PRAGMA_NEXTLINE in prev
        ctx = Ctx(path, text, nxt)
        found: list[Hit] = []
        vetoed: set[str] = set()  # values our own detectors rejected (placeholders): detect-secrets may not
        for g in gates:  # in DETECTORS order: the most specific detector comes first
            if g < n_own:
                found.extend(_run(DETECTORS[g], ctx, number, pragma, vetoed))
        if gates[-1] >= n_own:
            found.extend(h for h in _detect_secrets(path, text, number, pragma) if h.value not in vetoed)
        kept: list[str] = []
        for h in found:  # one hit per value: `token = "ghp_..."` is a github-token, not also generic
            if any(h.value in v or v in h.value for v in kept):
                continue
            kept.append(h.value)
            hits.setdefault((h.line, h.detector, h.value), h)
    return list(hits.values())


def scan_text(path: str, text: str, *, max_line_length: int = 20_000) -> list[Hit]:
    """A free text (a commit message, a file name): every line numbered from 1."""
    return scan_lines(path, list(enumerate(text.split("\n"), 1)), max_line_length=max_line_length)


def _run(d: Detector, ctx: Ctx, number: int, pragma: bool, vetoed: set[str]) -> list[Hit]:
    out: list[Hit] = []
    for m in d.pattern.finditer(ctx.line):
        conf = d.validate(m, ctx) if d.validate else d.confidence
        if conf is None:
            vetoed.add(m.group("s"))
            continue
        out.append(Hit(d.name, m.group("s"), number, conf, pragma))
    return out


# ----- detect-secrets, imported lazily -----

_DS_NAMES = {
    "KeywordDetector": "ds-keyword",
    "Base64HighEntropyString": "ds-base64-high-entropy",
    "HexHighEntropyString": "ds-hex-high-entropy",
}
_DS_LOW = frozenset({"ds-keyword", "ds-base64-high-entropy", "ds-hex-high-entropy"})
_DS_SKIP = frozenset({"IPPublicDetector"})  # an address is not a credential


def _slug(name: str) -> str:
    name = name.removesuffix("Detector")
    return "ds-" + re.sub(r"(?<!^)(?=[A-Z][a-z])", "-", name).lower()


@lru_cache(maxsize=1)
def _ds() -> tuple[list[tuple[str, Any]], Any]:
    """detect-secrets' plugins (instantiated directly: no global settings, no verification calls)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.filters import heuristic

    classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    plugins = [
        (_DS_NAMES.get(c.__name__, _slug(c.__name__)), c()) for c in classes if c.__name__ not in _DS_SKIP
    ]
    return plugins, heuristic


def _ds_keyword_groups(path: str) -> Any:
    from detect_secrets.plugins import keyword
    from detect_secrets.util.filetype import determine_file_type

    return keyword.REGEX_BY_FILETYPE.get(
        determine_file_type(path), keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
    )


def _detect_secrets(path: str, line: str, number: int, pragma: bool) -> list[Hit]:
    plugins, h = _ds()
    if h.is_indirect_reference(line) or h.is_lock_file(path) or h.is_swagger_file(path):
        return []
    out: list[Hit] = []
    for name, plugin in plugins:
        if name == "ds-keyword":
            values = list(plugin.analyze_string(line, denylist_regex_to_group=_ds_keyword_groups(path)))
        else:
            values = list(plugin.analyze_string(line))
            limit = getattr(plugin, "entropy_limit", None)
            if limit is not None:
                values = [v for v in values if plugin.calculate_shannon_entropy(v) > limit]
        for v in values:
            if (
                h.is_sequential_string(v)
                or h.is_potential_uuid(v)
                or h.is_likely_id_string(v, line, plugin)
                or h.is_templated_secret(v)
                or h.is_prefixed_with_dollar_sign(v)
                or h.is_not_alphanumeric_string(v)
                or is_placeholder(v)
                or looks_like_reference(v)
            ):
                continue
            conf = "low" if name in _DS_LOW or v.startswith("AC") else "medium"
            if name in _DS_LOW and (hash_context(line) or is_hex_digest(v)):
                continue
            out.append(Hit(name, v, number, conf, pragma))
    return out
