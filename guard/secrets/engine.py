"""The scanner: added lines in, hits out, in time linear in the size of the diff.

1. Prefilter: every detector's anchor (plus the gates of the detect-secrets plugins) joined into
   two RE2 patterns (see _Prefilter) and run over all of a file's added lines (RE2 is a DFA: one
   pass whatever the number of alternatives, no backtracking). Python's `re` is the fallback when
   google-re2 is missing: same results, several times slower.
2. Only candidate lines go on: an RE2 set tells which detectors' anchors hit the line, and only
   those detectors' exact patterns and validators run.
3. detect-secrets' plugins (keyword, entropy and the provider plugins) and its heuristic filters
   run on candidate lines that pass their gates; they are imported the first time one does.

Lines longer than `max_line_length` (minified files) are cut into overlapping segments, so no
single regex call sees an unbounded input.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from guard.diff import HunkIndex
from guard.secrets.detectors import DETECTORS, Ctx, Detector
from guard.secrets.filters import hash_context, is_hex_digest, is_placeholder, looks_like_reference

try:  # linear-time multi-pattern engine; optional at run time
    import re2 as _re2  # type: ignore[import-untyped,import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - exercised only without google-re2
    _re2 = None

PRAGMA = "pragma: allowlist secret"
PRAGMA_NEXTLINE = "pragma: allowlist nextline secret"
SEGMENT_OVERLAP = 1024

# Gates for detect-secrets' plugins, each a superset of what the plugins' own patterns can match, so
# that gating loses none of their findings: its keyword regexes (keyword, then an assignment, a call
# or a `"..." ;`; or a comparison before it), its quoted high-entropy strings (base64 needs 23+
# distinct characters to pass its 4.5 limit, hex 9+ for 3.0), and the providers it knows that our
# anchors do not already cover.
_DS_KW = (
    r"(?:api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key"
    r"|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contrase)"
)
DS_GATES: tuple[tuple[str, str], ...] = (
    ("keyword", rf"(?i){_DS_KW}\w*[\]'\"]*[ \t]*(?::=?|=>|=+|!==?)[ \t]*@?[\"'`]?\w"),
    ("keyword", rf"(?i){_DS_KW}\w*(?:\[[0-9]*\])?[ \t]*[!=]+[ \t]*@?\""),
    ("keyword", rf"(?i){_DS_KW}\w*(?:\.assign)?\(\"\w"),
    ("keyword", rf"(?i){_DS_KW}\S*[ \t]*[\"'`]\w"),
    ("keyword", rf"(?i)[\"'`][ \t]*[!=]+[ \t]*\w*{_DS_KW}"),
    ("base64", r"[\"'][A-Za-z0-9+/=_-]{23,}[\"']"),
    ("hex", r"[\"'][0-9a-fA-F]{9,}[\"']"),
    (
        "providers",
        r"(?i)(?:cloudant|\bcl(?:ou)?[_-]?(?:password|pwd|pass)|softlayer|\bsl[_-]?(?:api)?[_-]?(?:key|token)"
        # IBM IAM and COS HMAC: their keyword, an assignment and a 44+ character value (their
        # `ibm`/`iam` prefixes are optional there; as bare words they hit every "William")
        r"|(?:key|pwd|pass|token)[\"'\]]{0,2}[ :=>]+[\"']?[a-zA-Z0-9_-]{44}"
        r"|api[_-]?key|secret[_-]?access[_-]?key|PuTTY-User-Key|\d{8}:[0-9A-Za-z_-]{8}"
        r"|(?:AC|SK)[a-z0-9]{8}|[0-9a-z]{32}-us\d|\bAKC|\bAP[0-9A-F][a-zA-Z0-9]{4}"
        # AWS: its secret-key pattern (`aws`, up to 40 characters, a quoted 40-character value),
        # not the bare word, which every SDK bump and `aws-cli` line holds; A3T keys too.
        r"|aws[^\n]*[\"'][0-9a-zA-Z/+]{40}[\"']|A3T[A-Z0-9][0-9A-Z]{16})",
    ),
)
_GENERIC = frozenset(i for i, d in enumerate(DETECTORS) if d.tier == "generic")


@dataclass(frozen=True)
class Hit:
    detector: str
    value: str  # the secret itself: stays in this process, reports get redact(value)
    line: int
    confidence: str
    pragma: bool = False  # the line (or the one above, with `nextline`) carries an allowlist pragma
    tier: str = "high"  # "high": provider formats, private keys; "generic": judged by its context
    reason: str = ""  # why it is a credential, in words; never the value


def _inline(anchor: str) -> str:
    return f"(?i:{anchor[4:]})" if anchor.startswith("(?i)") else f"(?:{anchor})"


def _joined(anchors: Sequence[str]) -> str:
    return "|".join(_inline(a) for a in anchors)


class _Prefilter:
    """Combined patterns for candidate lines, RE2 sets to tell which gates a line hit.

    The anchors are joined into two passes rather than one: RE2 builds its DFA lazily, state by
    state, and a run of word characters after a keyword (the generic-credential anchor, the base64
    gate) keeps many states of every other alternative alive at once. Searched apart, a fresh
    process builds far fewer states (the first pass over 5 MB of site-packages source, what each
    of the two processes scans of a 10 MB range: 0.085 s as one pattern, 0.056 s as two). A line
    is a candidate when any pass matches on it: the same lines as with one pattern, since no
    anchor match takes a character of the next line (one may end on its own line's newline).
    """

    def __init__(self, anchors: Sequence[str], apart: frozenset[int] = frozenset()) -> None:
        """`anchors` in gate order (the indices `which` returns); `apart`: those searched apart."""
        groups = [
            [i for i in range(len(anchors)) if i not in apart],
            [i for i in range(len(anchors)) if i in apart],
        ]
        groups = [g for g in groups if g]
        self.re2 = _re2 is not None
        if _re2 is not None:
            opts = _re2.Options()
            opts.max_mem = 256 << 20
            self.passes: list[Any] = [
                _re2.compile(_joined([anchors[i] for i in g]).encode(), opts) for g in groups
            ]
            # One set per pass as well: the same DFA effect (measured: 0.032 s to 0.023 s for the
            # candidate lines of 5 MB in a fresh process).
            self.sets: list[tuple[Any, list[int]]] = []
            for g in groups:
                gates = _re2.Set.SearchSet(opts)
                for i in g:
                    gates.Add(anchors[i])
                gates.Compile()
                self.sets.append((gates, g))
        else:
            self.passes = [re.compile(_joined([anchors[i] for i in g]).encode()) for g in groups]
            self.singles = [re.compile(a) for a in anchors]

    def starts(self, blob: bytes) -> list[int]:
        """Where any anchor match begins in `blob`, in order (one position per match)."""
        if len(self.passes) == 1:
            return [m.start() for m in self.passes[0].finditer(blob)]
        return sorted({m.start() for p in self.passes for m in p.finditer(blob)})

    def candidates(self, texts: Sequence[str]) -> list[int]:
        """Indices of texts with at least one anchor hit, from one pass over all of them."""
        blob = "\n".join(texts).encode("utf-8", "surrogatepass")
        out: list[int] = []
        line = 0
        pos = 0
        for start in self.starts(blob):
            line += blob.count(b"\n", pos, start)
            pos = start
            if not out or out[-1] != line:
                out.append(line)
        return out

    def texts_hit(self, texts: Sequence[str]) -> list[int]:
        """Indices of multi-line texts holding at least one anchor hit, from one pass over all of
        them: a superset of the texts `scan_text` can find anything in."""
        parts = [t.encode("utf-8", "surrogatepass") for t in texts]
        starts: list[int] = []
        at = 0
        for part in parts:
            starts.append(at)
            at += len(part) + 1
        blob = b"\n".join(parts)
        out: list[int] = []
        for start in self.starts(blob):
            i = bisect_right(starts, start) - 1
            if not out or out[-1] != i:
                out.append(i)
        return out

    def which(self, text: str) -> list[int]:
        if self.re2:  # a set's Match is None when no anchor matches
            return sorted(g[j] for gates, g in self.sets for j in gates.Match(text) or ())
        return [i for i, r in enumerate(self.singles) if r.search(text)]


def load_detectors() -> None:
    """Compile our detectors and load detect-secrets' plugins now (not at the first candidate)."""
    _prefilter()
    _ds()


# Searched in a pass of their own (see _Prefilter): the anchors whose DFA states multiply the others'.
_WIDE_ANCHORS = frozenset({"generic-credential"})
_WIDE_GATES = frozenset({"base64"})


@lru_cache(maxsize=1)
def _prefilter() -> _Prefilter:
    wide = [d.name in _WIDE_ANCHORS for d in DETECTORS] + [name in _WIDE_GATES for name, _ in DS_GATES]
    anchors = [d.anchor for d in DETECTORS] + [g for _, g in DS_GATES]
    return _Prefilter(anchors, frozenset(i for i, w in enumerate(wide) if w))


def _segments(numbers: list[int], texts: list[str], max_len: int) -> tuple[list[int], list[str]]:
    if not texts or max(map(len, texts)) <= max_len:
        return numbers, texts
    out_n: list[int] = []
    out_t: list[str] = []
    step = max(max_len - SEGMENT_OVERLAP, 1)
    for number, text in zip(numbers, texts, strict=True):
        for start in range(0, max(len(text), 1), step):
            out_n.append(number)
            out_t.append(text[start : start + max_len])
            if start + max_len >= len(text):
                break
    return out_n, out_t


def scan_lines(path: str, lines: Sequence[tuple[int, str]], *, max_line_length: int = 20_000) -> list[Hit]:
    """Every secret in `lines` ((line number, text) pairs of one file, in order)."""
    return scan_texts(path, [n for n, _ in lines], [t for _, t in lines], max_line_length=max_line_length)


def scan_texts(
    path: str, numbers: list[int], texts: list[str], *, max_line_length: int = 20_000
) -> list[Hit]:
    """Like `scan_lines`, with line numbers and texts in two parallel lists (no pairs to build)."""
    numbers, texts = _segments(numbers, texts, max_line_length)
    pf = _prefilter()
    hits: dict[tuple[int, str, str], Hit] = {}
    for i in pf.candidates(texts):
        number = numbers[i]
        nxt = texts[i + 1] if i + 1 < len(texts) else None
        prev = texts[i - 1] if i > 0 and numbers[i - 1] == number - 1 else ""
        _scan_line(pf, path, number, texts[i], prev, nxt, hits)
    return list(hits.values())


def raw_scannable(patch: bytes) -> bool:
    """Whether `scan_patch` may search these bytes as they are: valid UTF-8, so that the bytes the
    prefilter sees are exactly the encoded text the detectors judge."""
    if patch.isascii():
        return True
    try:
        patch.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def scan_patch(path: str, patch: bytes, *, max_line_length: int = 20_000) -> tuple[list[Hit], dict[int, str]]:
    """`scan_texts` over the `+` lines of a file's raw hunks (see guard.hunks), without a Python
    object per line: the prefilter searches the bytes (no match crosses a line, and the
    leading `+` is a non-word character like the newline it stands for), and only the lines it
    hits are numbered, decoded and judged. Also returns those lines' texts by number."""
    pf = _prefilter()
    hits: dict[tuple[int, str, str], Hit] = {}
    texts: dict[int, str] = {}
    index: HunkIndex | None = None
    line_start = -1
    for at in pf.starts(patch):
        start = patch.rfind(b"\n", 0, at) + 1
        if start == line_start or patch[start : start + 1] != b"+":
            continue
        line_start = start
        if index is None:
            index = HunkIndex(patch)
        number = index.number_at(start)
        if number is None:
            continue
        text = _line_text(patch, start)
        texts[number] = text
        prev = _added_before(patch, start, number, index)
        nxt = _added_after(patch, start)
        _, segs = _segments([number], [text], max_line_length)
        for k, seg in enumerate(segs):
            following = segs[k + 1] if k + 1 < len(segs) else nxt
            _scan_line(pf, path, number, seg, prev if k == 0 else "", following, hits)
    return list(hits.values()), texts


def _line_text(patch: bytes, start: int) -> str:
    """The text of the patch line starting at `start`, without its `+`/`-` and any CR."""
    end = patch.find(b"\n", start)
    return patch[start + 1 : end if end >= 0 else len(patch)].rstrip(b"\r").decode("utf-8", "replace")


def _added_before(patch: bytes, start: int, number: int, index: HunkIndex) -> str:
    """The line just above in the new file when it was added too (for a `nextline` pragma)."""
    at = patch.rfind(b"\n+", 0, max(start - 1, 0)) + 1  # 0: none (a patch starts with "@@")
    if at == 0 or patch.find(b"\n ", at, start) >= 0:  # none, or context lines between
        return ""
    # Only removed lines between: the line above. A hunk header between (git never starts a hunk
    # right after another with -U0, but a patch may): ask the index.
    if patch.find(b"\n@", at, start) >= 0 and index.number_at(at) != number - 1:
        return ""
    return _line_text(patch, at)


def _added_after(patch: bytes, start: int) -> str | None:
    """The next added line of the file, whatever lies between (as in the list of added lines)."""
    at = patch.find(b"\n+", start)
    return _line_text(patch, at + 1) if at >= 0 else None


def _scan_line(
    pf: _Prefilter, path: str, number: int, text: str, prev: str, nxt: str | None,
    hits: dict[tuple[int, str, str], Hit],
) -> None:  # fmt: skip
    """Every detector whose gate `text` hits, into `hits` (one per line, detector and value)."""
    gates = pf.which(text)
    if not gates:
        return
    n_own = len(DETECTORS)
    pragma = PRAGMA in text or PRAGMA_NEXTLINE in prev
    ctx = Ctx(path, text, nxt)
    found: list[Hit] = []
    vetoed: set[str] = set()  # values our own detectors rejected (placeholders): detect-secrets may not
    ds_groups: set[str] = set()
    for g in gates:  # in DETECTORS order: the most specific detector comes first
        if g < n_own:
            found.extend(_run(DETECTORS[g], ctx, number, pragma, vetoed))
            if g not in _GENERIC:
                ds_groups.add("providers")
        else:
            ds_groups.add(DS_GATES[g - n_own][0])
    if ds_groups:
        for h in _detect_secrets(path, text, number, pragma, ds_groups):
            if not any(h.value in v for v in vetoed):
                found.append(h)
    kept: list[str] = []
    for h in found:  # one hit per value: `token = "ghp_..."` is a github-token, not also generic
        if any(h.value in v or v in h.value for v in kept):
            continue
        kept.append(h.value)
        hits.setdefault((h.line, h.detector, h.value), h)


def texts_with_candidates(texts: Sequence[str]) -> list[int]:
    """Which of many free texts (commit metadata of a whole history) need `scan_text` at all."""
    return _prefilter().texts_hit(texts)


def scan_text(path: str, text: str, *, max_line_length: int = 20_000) -> list[Hit]:
    """A free text (a commit message, a file name): every line numbered from 1."""
    return scan_lines(path, list(enumerate(text.split("\n"), 1)), max_line_length=max_line_length)


def _run(d: Detector, ctx: Ctx, number: int, pragma: bool, vetoed: set[str]) -> list[Hit]:
    out: list[Hit] = []
    if d.scan is not None:
        for value, conf, reason in d.scan(ctx.path, ctx.line):
            if conf is None:
                vetoed.add(value)
            else:
                out.append(Hit(d.name, value, number, conf, pragma, d.tier, reason))
        return out
    assert d.pattern is not None  # a detector has a pattern or a scanner
    for m in d.pattern.finditer(ctx.line):
        conf = d.validate(m, ctx) if d.validate else d.confidence
        if conf is None:
            vetoed.add(m.group("s"))
            continue
        out.append(Hit(d.name, m.group("s"), number, conf, pragma, d.tier, d.why()))
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
    for brand in ("GitHub", "GitLab", "OpenAI", "SendGrid"):
        name = name.replace(brand, brand.capitalize())
    return "ds-" + re.sub(r"(?<!^)(?=[A-Z][a-z])", "-", name).lower()


_DS_GROUP = {"ds-keyword": "keyword", "ds-base64-high-entropy": "base64", "ds-hex-high-entropy": "hex"}


@lru_cache(maxsize=1)
def _ds() -> tuple[list[tuple[str, str, Any]], Any]:
    """detect-secrets' plugins (instantiated directly: no global settings, no verification calls)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.filters import heuristic

    classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    plugins = []
    for c in classes:
        if c.__name__ in _DS_SKIP:
            continue
        name = _DS_NAMES.get(c.__name__, _slug(c.__name__))
        plugins.append((name, _DS_GROUP.get(name, "providers"), c()))
    return plugins, heuristic


@lru_cache(maxsize=64)
def _ds_keyword_groups(path: str) -> Any:
    from detect_secrets.plugins import keyword
    from detect_secrets.util.filetype import determine_file_type

    return keyword.REGEX_BY_FILETYPE.get(
        determine_file_type(path), keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
    )


def _may_pass(value: str, limit: float) -> bool:
    """Whether `value` can have a Shannon entropy above `limit`: it is at most log2 of the number of
    distinct characters, so with fewer than 2**limit of them the plugin's sum is not needed."""
    return len(set(value)) >= 2**limit


def _detect_secrets(path: str, line: str, number: int, pragma: bool, groups: set[str]) -> list[Hit]:
    plugins, h = _ds()
    out: list[Hit] = []
    for name, group, plugin in plugins:
        if group not in groups:
            continue
        if name == "ds-keyword":
            values = list(plugin.analyze_string(line, denylist_regex_to_group=_ds_keyword_groups(path)))
        else:
            values = list(plugin.analyze_string(line))
            limit = getattr(plugin, "entropy_limit", None)
            if limit is not None:
                values = [
                    v for v in values if _may_pass(v, limit) and plugin.calculate_shannon_entropy(v) > limit
                ]
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
            if name == "ds-private-key" and not line.startswith("PuTTY-User-Key-File-"):
                conf = "low"  # a header in code or docs; our private-key detector judges real blocks
            if name in _DS_LOW and (hash_context(line) or is_hex_digest(v)):
                continue
            tier, why = (
                ("generic", "detect-secrets' keyword or entropy plugin")
                if name in _DS_LOW
                else ("high", f"detect-secrets' {name.removeprefix('ds-')} plugin")
            )
            out.append(Hit(name, v, number, conf, pragma, tier, why))
    # Line-level filters last: they are slow and most lines yield nothing to filter.
    if out and (h.is_indirect_reference(line) or h.is_lock_file(path) or h.is_swagger_file(path)):
        return []
    return out
