"""The one redaction path: no secret value in any output, whatever field of the change it sat in.

Everything the guard shows comes from a model built for output (the `Decision`, the `identify`
rows, an audit record, a line for the pusher). Before it leaves the process, `Redactor` runs the
secret detectors (guard.secrets.engine, the same ones the `secret` rules use) over every string
of that model and replaces each detected value with a fixed mask, ``«redacted:<detector>»``: no
prefix, no length, nothing of the value. The mask holds no character JSON, SARIF, Markdown
tables or workflow commands treat specially, so it is safe in every format.

Two passes over the model: the first learns every value found anywhere in it, the second masks
each of them wherever it appears: in another field where the detectors would not see it alone
(an evidence value quoting a trailer, a lower-cased branch name: matched case-insensitively), and
where a field was cut short (a value's leading or trailing part at the end or start of a string).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, TypeVar

from guard.secrets.engine import scan_text
from guard.secrets.filters import word_like

if TYPE_CHECKING:
    from guard.model import Decision

T = TypeVar("T")
MIN_PART = 6  # a cut-off piece of a known value this long is masked too
_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # commit ids: never secrets, never altered
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_NOT_OUTPUT = frozenset({"files", "blobs"})  # dataclass fields never shown (diff content, readers)


def mask(detector: str) -> str:
    return f"«redacted:{detector}»"


class Redactor:
    """Learns secret values from texts, then masks them in any text or model."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}  # lower-cased value -> detector
        self._pattern: re.Pattern[str] | None = None

    def learn(self, text: str) -> None:
        if not text or _OBJECT_ID.fullmatch(text):
            return
        for hit in scan_text("", text):
            if hit.confidence == "low" and word_like(hit.value):
                continue  # `slack-token: possible ...`: a label after a key, not a value
            for value in _glued(text, hit.value):
                key = value.lower()
                if key and key not in self._values:
                    self._values[key] = hit.detector
                    self._pattern = None

    def text(self, text: str) -> str:
        """`text` with every learned value (any case, whole or cut short at an end) masked."""
        if not self._values or not text or _OBJECT_ID.fullmatch(text):
            return text
        if self._pattern is None:
            alts = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alts), re.IGNORECASE)
        out = self._cut_parts(self._pattern.sub(lambda m: mask(self._values[m.group().lower()]), text))
        return text if out == text else out

    def _cut_parts(self, text: str) -> str:
        for value, detector in self._values.items():
            if len(value) <= MIN_PART:
                continue
            low = text.lower()
            # A leading part at the end (a field cut to N characters, perhaps with an ellipsis) ...
            end = len(low.rstrip(".…"))
            at = low.find(value[:MIN_PART], max(0, end - len(value) + 1), end)
            while at >= 0:
                if value.startswith(low[at:end]):
                    text = text[:at] + mask(detector) + text[end:]
                    low = text.lower()
                    break
                at = low.find(value[:MIN_PART], at + 1, end)
            # ... and a trailing part at the start (a field keeping its last N characters).
            head = low[:MIN_PART]
            at = value.find(head, 1) if len(head) == MIN_PART else -1
            while at >= 0:
                if low.startswith(value[at:]):
                    text = mask(detector) + text[len(value) - at :]
                    break
                at = value.find(head, at + 1)
        return text

    def learn_all(self, obj: object) -> None:
        _walk(obj, self._learning, {})

    def apply(self, obj: T) -> T:
        """A copy of `obj` (strings, lists, tuples, dicts, dataclasses) with every value masked;
        parts that hold nothing to mask are shared, not copied."""
        if not self._values:
            return obj
        out: T = _walk(obj, self.text, {})
        return out

    def _learning(self, text: str) -> str:
        self.learn(text)
        return text


def _glued(text: str, value: str) -> set[str]:
    """`value` with the word characters glued to it where it occurs in `text`: a token written as
    ``session_ghp_...`` is found by a detector that reports only ``ghp``, and all of it is masked."""
    out: set[str] = set()
    at = text.find(value)
    while at >= 0 and value:
        start, end = at, at + len(value)
        if value[0] in _WORD:
            while start > 0 and text[start - 1] in _WORD:
                start -= 1
        if value[-1] in _WORD:
            while end < len(text) and text[end] in _WORD:
                end += 1
        out.add(text[start:end])
        at = text.find(value, at + 1)
    return out or {value}


def redact_text(text: str) -> str:
    r = Redactor()
    r.learn(text)
    return r.text(text)


def redact_data(obj: T) -> T:
    """A JSON-like value (or any model) with every secret the detectors find in it masked."""
    r = Redactor()
    r.learn_all(obj)
    return r.apply(obj)


def _walk(obj: Any, fn: Any, memo: dict[int, Any]) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if obj is None or isinstance(obj, (bool, int, float, bytes)):
        return obj
    key = id(obj)
    if key in memo:
        return memo[key]
    out: Any = obj
    if isinstance(obj, (list, tuple)):
        items = [_walk(x, fn, memo) for x in obj]
        if any(a is not b for a, b in zip(items, obj, strict=True)):
            out = items if isinstance(obj, list) else tuple(items)
    elif isinstance(obj, dict):
        pairs = [(_walk(k, fn, memo), _walk(v, fn, memo)) for k, v in obj.items()]
        if any(k is not k0 or v is not v0 for (k, v), (k0, v0) in zip(pairs, obj.items(), strict=True)):
            out = dict(pairs)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            if not f.init or f.name in _NOT_OUTPUT:
                continue
            value = getattr(obj, f.name)
            new = _walk(value, fn, memo)
            if new is not value:
                changes[f.name] = new
        if changes:
            out = dataclasses.replace(obj, **changes)
    memo[key] = out
    return out


def redact_decision(decision: Decision) -> Decision:
    """The decision as every report, log and record may show it (the change's own model is left
    as it was: checks and doors keep judging the real values). Idempotent and cheap once done."""
    if decision.redacted:
        return decision
    r = Redactor()
    r.learn_all(decision)
    return dataclasses.replace(r.apply(decision), redacted=True)
