"""False-positive control shared by every detector: placeholders, references, examples, hashes."""

from __future__ import annotations

import math
import re
from collections import Counter

_PLACEHOLDER_WORDS = (
    "example",
    "sample",
    "placeholder",
    "dummy",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourpassword",
    "redacted",
    "replace",
    "insert",
    "xxxx",
    "****",
    "....",
    "<",
    ">",
    "${",
    "#{",
    "{{",
    "}}",
    "%s",
    "%(",
    "$(",
    "fake",
    "notreal",
    "not_real",
    "not-a-",
    "invalid",
    "todo",
    "fixme",
    "secret_here",
    "token_here",
    "key_here",
    "here>",
    "...",
    "…",
    "000000",
    "123456",
    "abcdef",
    "12345678",
    "hunter2",
)
_REFERENCE = re.compile(
    r"""(?x)
    ^\$[A-Za-z_{(]            # $VAR ${VAR} $(cmd)
    | ^%[A-Za-z_(]            # %VAR% %(name)s
    | ^@[A-Za-z_]             # @Value / @variable
    | ^&[A-Za-z_]
    | (?:os\.environ|getenv|process\.env|ENV\[|env\(|System\.getenv|secrets\.|vars\.|inputs\.|
         env\.|Environment\.|config\.|settings\.|params\.|args\.|options\.|self\.|this\.)
    """
)
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")  # DB_PASSWORD: a variable's name
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_WORDY = re.compile(r"^[A-Za-z]+(?:[ _.-][A-Za-z]+)*[!.?]?$")
_NAMES_A_SECRET = re.compile(r"(?i)passw|passwd|secret|token|api_?key")
_CONFIG_SUFFIXES = (
    ".env", ".ini", ".cfg", ".conf", ".properties", ".toml", ".yml", ".yaml", ".json", ".tfvars",
)  # fmt: skip


def is_placeholder(value: str) -> bool:
    """Values that stand for a secret rather than being one."""
    low = value.lower()
    if any(w in low for w in _PLACEHOLDER_WORDS):
        return True
    if len(set(low)) <= 2:  # "xxxxxxxx", "********", "aaaa-aaaa"
        return True
    return bool(_UUID.match(value))


def looks_like_reference(value: str) -> bool:
    """A reference to where a secret lives (an env var, a template, a property), not the secret."""
    return bool(_REFERENCE.search(value)) or bool(_ENV_NAME.match(value))


def shannon(s: str) -> float:
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def low_entropy_body(value: str, min_entropy: float) -> bool:
    """Random tokens have high per-character entropy; ``ghp_aaaaaaaa...`` and ``sk_live_0000`` do not."""
    body = value[-min(len(value), 32) :]
    return shannon(body) < min_entropy


def word_like(value: str) -> bool:
    """A plain word or phrase, or one naming a secret (``auth.token``, ``my-secret``): a label, mostly."""
    return bool(_WORDY.match(value)) or bool(_NAMES_A_SECRET.search(value))


def is_config_path(path: str) -> bool:
    low = path.lower()
    name = low.rsplit("/", 1)[-1]
    return low.endswith(_CONFIG_SUFFIXES) or name.startswith(".env") or name.endswith(".env")


_HASH_CONTEXT = re.compile(
    r"(?i)(?:integrity|sha(?:1|224|256|384|512)[-:=]|@sha256:|\bdigest\b|checksum|\bhash\b|\"resolved\"|shasum)"
)


def hash_context(line: str) -> bool:
    """Lock-file integrity hashes, image digests and checksums: high entropy, never secret."""
    return bool(_HASH_CONTEXT.search(line))


def is_hex_digest(value: str) -> bool:
    return len(value) in (32, 40, 56, 64, 96, 128) and all(c in "0123456789abcdefABCDEF" for c in value)
