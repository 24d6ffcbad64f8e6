"""Whether a literal in a credential position is a credential: placeholders, references and shape.

Judged per kind of name (guard/secrets/generic_keys.py): any literal can be a password, so a
password is rejected only when it stands for one (a slot word, a template, a reference, a path, a
hash); a token or key must also look issued (not a words-only description, not a sequence).
"""

from __future__ import annotations

import re

from guard.secrets.filters import is_placeholder, looks_like_reference, shannon
from guard.secrets.generic_keys import KeyKind

Confidence = str

# Values that name a slot, a type, a default account or a state, not a chosen password.
_SLOT_WORDS = frozenset(
    """password passwd pass pwd passphrase secret secrets token key apikey api_key credential
    credentials changeme changeit change_me change-me example sample test testing tests admin
    administrator root guest postgres user username usr login default value string str bool boolean
    int integer number char text null nil none undefined empty required optional true false yes no
    on off enabled disabled hashed encrypted filtered secure unset yourpassword demo foo bar baz qux
    foobar dev local localhost todo tbd
    fixme redacted hidden masked private public basic bearer
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# Markers that a value is written to be replaced (checked as substrings, case-insensitive).
_MARKERS = (
    "your_", "your-", "yourkey", "yourtoken", "yoursecret", "yourpassword", "<", ">", "${", "#{", "{{",
    "}}", "%s", "%(", "$(", "@{", "xxx", "***", "...", "…", "changeme", "change_me", "change-me",
    "placeholder", "replace", "redacted", "dummy", "insert", "todo", "fixme", "_here", "-here",
    "generate", "unset", "notreal", "not_real", "not-a-",
)  # fmt: skip
_PATH = re.compile(
    r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\|file:|classpath:|[a-z][a-z0-9+.-]{1,20}://)"
    r"|\.(?:json|pem|key|crt|cer|p12|pfx|jks|keystore|txt|ya?ml|env|cfg|conf|ini|toml|xml|properties)$",
    re.I,
)
_CALL = re.compile(r"^[\w$.:]*\w\s*\(.*\)[;,]?$")  # get_password(), os.getenv("X"), Secret.load()
_HASHED = re.compile(
    r"^(?:\{(?:bcrypt|sha|ssha|sha256|pbkdf2|argon2|scrypt|md5|MD5|SHA)[^}]*\}|\$2[abxy]?\$|\$argon2)"
)
_SPRING_PREFIX = re.compile(r"^\{(?:noop|plain)\}")
# flyway.token, .tls.certPassword, data.aws_secret.value: names of settings, fields, references
_DOTTED = re.compile(r"^\.?[A-Za-z_][A-Za-z_-]{0,60}(?:\.[A-Za-z_][A-Za-z_-]{0,60})+$")
_CAMEL_NAME = re.compile(r"^\.?[a-z]+(?:[A-Z][a-z]+)+$")  # encryptedPassword: a name
_PHRASE = re.compile(r"^[A-Za-z][A-Za-z ,.!?'-]* [A-Za-z ,.!?'-]*$")  # Forgot your password?
_NAMES_A_CREDENTIAL = re.compile(r"(?i)pass|secret|token|key|cred|auth")
_WORDS_ONLY = re.compile(r"^[A-Za-z]+(?:[ _.-][A-Za-z]+)*$")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "9876543210")
_VERSION = re.compile(r"^[~^<>=v]{0,2}\d+(?:\.[\dx*]+)+(?:[-+][\w.]+)?$")  # ^9.0.3: a package's version
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PART = re.compile(r"^(?:[A-Za-z]+|[A-Za-z0-9]{1,3})$")  # a word, or a short tag (`k8s`, `123`)
_DUNDER = re.compile(r"^__\w+__$")  # __PASSWORD__: a template's slot
_BOOLS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "nil", "none", "undefined"})


def _sequential(low: str) -> bool:
    """`12345678`, `abcdefgh`, `1234abcd`: typed, not issued."""
    core = re.sub(r"[^a-z0-9]", "", low)
    if len(core) < 4:
        return False
    runs = [core[i : i + 4] for i in range(0, len(core) - 3, 4)]
    return all(any(r in s for s in _SEQUENCES) for r in runs)


def stands_for_one(value: str) -> bool:
    """A reference, template, path, call, hash, boolean, number or slot word: not a credential."""
    low = value.lower()
    if not value.strip() or low in _BOOLS or low.strip("[](){}<>!?'\";,") in _SLOT_WORDS:
        return True
    if value.replace(".", "").replace("-", "").isdigit() or len(set(low)) <= 2:
        return True
    if any(m in low for m in _MARKERS) or _PATH.search(value) or _CALL.match(value):
        return True
    if looks_like_reference(value) or value.startswith(("$", "%", "@", "&", "*", "!", "\\")):
        return True
    if (
        value != value.strip() or _DUNDER.match(value) or " + " in value or _VERSION.match(value)
    ):  # a concatenation, a version
        return True
    return bool(_HASHED.match(value))


def _names_a_credential(value: str) -> bool:
    """`encryptedPassword`, `flyway.token`: the name of a setting or field, not its value."""
    return bool(_DOTTED.match(value) or _CAMEL_NAME.match(value)) and bool(_NAMES_A_CREDENTIAL.search(value))


def _descriptive(value: str) -> bool:
    """`etcd-cluster-k8s`, `test-token-123`, `sample password`: words with short tags, a description."""
    parts = [p for p in re.split(r"[-_. ]+", value) if p]
    return len(parts) >= 2 and all(_PART.match(p) for p in parts)


def judge(value: str, kind: KeyKind, *, compare: bool = False) -> Confidence | None:
    """The confidence that `value`, assigned to a name of `kind`, is a credential (None: it is not)."""
    value = _SPRING_PREFIX.sub("", value)
    if len(value) < 4 or stands_for_one(value) or _names_a_credential(value) or _DOTTED.match(value):
        return None
    low = value.lower()
    if _sequential(low):
        return None
    words_only = bool(_WORDS_ONLY.match(value))
    if _PHRASE.match(value):
        return None  # a phrase (`your password`, a label): passwords are rarely written with spaces
    if _UUID.match(value):  # under a token's name some services issue them (Heroku, webhooks);
        return "medium" if kind == "secret" else None  # nobody picks one as a password: an id
    # Issued values (tokens, keys; anything compared): not a description, not a documentation
    # example, some length and variety.
    issued = kind == "secret" or compare
    if issued and (
        words_only or _descriptive(value) or is_placeholder(value) or len(value) < 6 or shannon(value) < 2.0
    ):
        return None
    classes = sum(
        (any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
         any(not c.isalnum() for c in value))
    )  # fmt: skip
    if len(value) >= 16 and shannon(value) >= 3.5 and classes >= 2:
        return "high"
    return "medium"
