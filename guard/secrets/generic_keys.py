"""Which names say that the value assigned to them is a credential, and of which kind.

The generic detector (guard/secrets/generic.py) only judges values whose name says credential.
Two kinds, because they are judged differently:
- `password`: any literal works as a password (`whalehello`, `nextcloud`), so a plain word is a
  finding unless it is a slot word (`password`, `admin`, `changeme`);
- `secret` (tokens, keys, client secrets): issued by machines, so a words-only value
  (`my-access-token`, `generate_a_new_key`) is a description, not the secret.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

KeyKind = Literal["password", "secret"]

_PASSWORD_WORDS = frozenset(
    {"password", "passwd", "passphrase", "pwd", "pass", "pw", "passwort", "contrasena", "contraseña"}
)
_PASSWORD_ENDINGS = ("password", "passwd", "passwort", "passphrase")
_SECRET_WORDS = frozenset(
    {
        "secret",
        "secrets",
        "token",
        "apikey",
        "credential",
        "credentials",
        "privatekey",
        "secretkey",
        "accesskey",
        "authkey",
        "authtoken",
        "accesstoken",
        "refreshtoken",
        "clientsecret",
    }
)
_SECRET_ENDINGS = ("token", "secret", "apikey")  # `repotoken`, `jwtsecret`: one word, no separator
_KEY_BIGRAMS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("auth", "key"),
        ("client", "key"),
        ("account", "key"),
        ("service", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("app", "key"),
        ("db", "key"),
        ("database", "key"),
        ("license", "key"),
        ("webhook", "key"),
        ("sas", "key"),
        ("shared", "key"),
        ("subscription", "key"),
    }
)
# A name whose *last* word is one of these names something about a credential, not the credential.
_NOT_VALUE = frozenset(
    """name names type types field fields label path file files dir url uri urls endpoint length len
    min max regex regexp pattern prompt placeholder hint header headers param params policy ref refs
    arn env var vars mode count expiry expires expiration ttl prefix format version location id ids
    class cls size usage manager provider store service loader parser generator validator required
    enabled input reset changed strength rotation kind source scope scopes exists error errors
    message description desc help title text keyid hash hasher hashed salt algorithm algo digest
    encoder widget form view handler callback fn func function method timeout interval template
    schema config settings option options flag flags at on by to from index idx visible visibility
    link links button btn icon style css color confirm confirmation confirmed valid invalid match
    matches mapping lifetime age duration expire expired period grace limit limits dict list set map
    selector selectors annotation annotations secretref command cmd encrypted encoded sha md5 rule
    rules test tests spec policy_id key_id type_id enable disable disabled required_
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# A name whose *first* word is one of these points at a credential kept elsewhere.
# Verbs among them: `get_password("name")` looks one up, `hash_password("x")` works on one.
_NOT_VALUE_FIRST = frozenset(
    """existing use is has allow show require needs no get load read fetch find lookup resolve
    decrypt encrypt hash verify check validate encode decode compare generate create make parse
    print log assert expect mask redact prompt ask input filter sanitize reset update delete remove
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_CAMEL = re.compile(r"[A-Z]?[a-zñ]+|[A-Z]+(?![a-z])|\d+")


def key_words(key: str) -> list[str]:
    """`dbPassword`, `DB_PASSWORD`, `db-password` -> ["db", "password"]."""
    words: list[str] = []
    for part in re.split(r"[^A-Za-z0-9ñ]+", key):
        words.extend(w.lower() for w in _CAMEL.findall(part) or ([part] if part else []))
    return words


def key_kind(key: str) -> KeyKind | None:
    """What kind of credential the name `key` says its value is, or None when it says none."""
    words = key_words(key)
    if not words or words[-1] in _NOT_VALUE or words[0] in _NOT_VALUE_FIRST:
        return None
    if any(w in _PASSWORD_WORDS or w.endswith(_PASSWORD_ENDINGS) for w in words):
        return "password"
    joined = "".join(words)
    if joined in _SECRET_WORDS or any(w in _SECRET_WORDS or w.endswith(_SECRET_ENDINGS) for w in words):
        return "secret"
    if any(pair in _KEY_BIGRAMS for pair in itertools.pairwise(words)):
        return "secret"
    return None
