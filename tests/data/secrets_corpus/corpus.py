"""The labelled secrets corpus: one JSONL file per slice, loaded into `Case`s.

Rows of the provider and hard-negative slices are templates: `@@CLASS:N@@` is replaced by N random
characters of CLASS (`@@UUID@@`, `@@JWT@@` by a whole fake value), drawn from a generator seeded by
the row and a run seed. So the repository holds no credential-shaped string of its own (nothing for
push protection to trip on) and every run scans freshly generated values of the documented shapes.
Rows of the real-code slice are literal: fake or sample values as they stand in public repositories.

Row fields: id, slice, label (`credential` or `not`), path (the file the line came from, or a
plausible one), lines (the snippet; `line` is the 1-based index of the labelled line, default 1),
source (where the format or the line came from: repo@commit:path, a rule file, a documentation
page), reason (why it is labelled so), and for provider rows the vendor.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SLICES = ("providers", "realcode", "negatives")
FIELDS = frozenset({"id", "slice", "label", "path", "lines", "source", "reason"})

_B62 = string.ascii_letters + string.digits
CLASSES = {
    "B62": _B62,
    "LAN": string.ascii_lowercase + string.digits,
    "UAN": string.ascii_uppercase + string.digits,
    "LOW": string.ascii_lowercase,
    "LOWUP": string.ascii_letters,
    "HEX": "0123456789abcdef",
    "HEXU": "0123456789ABCDEF",
    "DIG": string.digits,
    "B64": _B62 + "+/",
    "URL": _B62 + "_-",
    "B32": string.ascii_uppercase + "234567",
    "BECH": "qpzry9x8gf2tvdw0s3jn54khce6mua7l".upper(),
}
TEMPLATE = re.compile(r"@@([A-Z0-9]+)(?::(\d+))?@@")


@dataclass(frozen=True)
class Case:
    id: str
    slice: str
    positive: bool
    path: str
    lines: tuple[str, ...]
    line: int  # 1-based index of the labelled line in `lines`
    source: str
    reason: str
    vendor: str | None


def _fill(template: str, rng: random.Random) -> str:
    def one(m: re.Match[str]) -> str:
        kind, n = m.group(1), m.group(2)
        if kind == "UUID" or kind == "UUIDU":
            value = "-".join("".join(rng.choice(CLASSES["HEX"]) for _ in range(k)) for k in (8, 4, 4, 4, 12))
            return value.upper() if kind == "UUIDU" else value
        if kind == "JWT":
            return _jwt(rng)
        if kind not in CLASSES or n is None:
            raise ValueError(f"unknown template {m.group(0)!r}")
        return "".join(rng.choice(CLASSES[kind]) for _ in range(int(n)))

    return TEMPLATE.sub(one, template)


def _jwt(rng: random.Random) -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    payload = {"iss": "supabase", "ref": "".join(rng.choice(CLASSES["LOW"]) for _ in range(20)),
               "role": "service_role", "iat": 1700000000, "exp": 2000000000}  # fmt: skip
    sig = "".join(rng.choice(CLASSES["URL"]) for _ in range(43))
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(payload)}.{sig}"


def rows(slice_name: str) -> list[dict[str, object]]:
    """The raw rows of one slice, as stored."""
    path = HERE / f"{slice_name}.jsonl"
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def load(seed: int = 17, slices: tuple[str, ...] = SLICES) -> list[Case]:
    """Every case of `slices`, templates filled from `seed` (the same seed, the same values)."""
    out: list[Case] = []
    for name in slices:
        for row in rows(name):
            rid = str(row["id"])
            rng = random.Random(int(hashlib.sha256(f"{seed}:{rid}".encode()).hexdigest()[:16], 16))
            raw = [str(x) for x in row["lines"]]  # type: ignore[attr-defined]
            lines = tuple(_fill(x, rng) for x in raw) if row.get("template") else tuple(raw)
            out.append(
                Case(
                    id=rid,
                    slice=str(row["slice"]),
                    positive=row["label"] == "credential",
                    path=str(row["path"]),
                    lines=lines,
                    line=int(row.get("line", 1)),  # type: ignore[call-overload]
                    source=str(row["source"]),
                    reason=str(row["reason"]),
                    vendor=str(row["vendor"]) if row.get("vendor") else None,
                )
            )
    return out


# ----- judging a scanner on the corpus (shared by tests/test_secrets_corpus.py and the benchmark) -----


def as_patch(case: Case) -> bytes:
    """The case as the raw hunk of a newly added file, the form the secret check scans."""
    body = "".join(f"+{ln}\n" for ln in case.lines)
    return f"@@ -0,0 +1,{len(case.lines)} @@\n{body}".encode()


def guard_hits(case: Case) -> list[Any]:
    """pipeline-guard's hits on the case, through the check's own path (raw hunks, scan_patches)
    and the default policy's confidence floor."""
    from guard.policy import builtin_policy
    from guard.secrets.detectors import CONFIDENCE_RANK
    from guard.secrets.parallel import scan_patches

    rule = next(r for r in builtin_policy().rules if r.kind == "secret")
    floor = CONFIDENCE_RANK[rule.matcher().min_confidence]
    [(hits, _)] = scan_patches([(case.path, as_patch(case))])
    return [h for h in hits if CONFIDENCE_RANK[h.confidence] >= floor]


def flagged(case: Case, lines: list[int]) -> bool:
    """Whether findings on these snippet lines count: a positive needs one on its labelled line,
    a negative is a false alarm with one anywhere."""
    return case.line in lines if case.positive else bool(lines)


@dataclass(frozen=True)
class Score:
    positives: int
    negatives: int
    tp: int
    fp: int

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0


def score(cases: list[Case], predicted: list[bool]) -> Score:
    tp = sum(1 for c, p in zip(cases, predicted, strict=True) if c.positive and p)
    fp = sum(1 for c, p in zip(cases, predicted, strict=True) if not c.positive and p)
    positives = sum(c.positive for c in cases)
    return Score(positives, len(cases) - positives, tp, fp)
