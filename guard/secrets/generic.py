"""The generic credential detector: a literal in a credential position, in any language or format.

Most real leaks carry no provider prefix; their only tell is where they stand. This detector
finds a value in one of these positions and judges it (guard/secrets/generic_values.py) by the
kind of name it is assigned to (guard/secrets/generic_keys.py):
- an assignment: `password = "..."`, `password: ...` (YAML), `"password": "..."` (JSON),
  `DB_PASSWORD=...` (.env, compose, `-e`, `export`), `spring.datasource.password=...`
  (properties), `Password=...;` (connection strings), `password="..."` (XML attributes);
- a call with a literal: `.withPassword("...")`, `setToken("...")`, `put("password", "...")`;
- an XML element or a name/value pair: `<password>...</password>`, `name="password" value="..."`;
- a command-line flag: `--password ...`, `--repotoken ...`, `-Dx.password=...`;
- SQL: `IDENTIFIED BY '...'`, `WITH PASSWORD '...'`;
- user:password after a credential name: `auth=user:pass`, `--user admin:pass`, `-u user:pass`.
URL user-info (`scheme://user:pass@host`) is the url-password detector's (guard/secrets/detectors.py).

Every hit says why in words (`value assigned to `db_password` in YAML`), never with the value.
Patterns use bounded repetition only (no catastrophic backtracking on a hostile line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from guard.secrets.generic_keys import KeyKind, key_kind
from guard.secrets.generic_values import Confidence, judge

NAME = "generic-credential"

# The prefilter's anchor (RE2 subset, never matches a newline): a credential word followed by an
# assignment, a call, a closing tag, a flag's argument or SQL. A superset of what FORMS can match.
_KW = r"(?:pass|pwd|secret|token|key|cred|contrase)"
_REST = r"[\w.\"'\]-]"  # what may follow a credential word in a key: `token"]`, `api_key.prod`
_REST_NO_O = r"[0-9a-np-z_.\"'\]-]"
_NAME_REST = r"[\w.-]"
_NAME_REST_NO_O = r"[0-9a-np-z_.-]"


def _word(rest: str, rest_no_o: str) -> str:
    """A credential word and the rest of its name. `auth` is one too, but not as `author` or
    `authored`: every `Co-authored-by:` trailer and `"author":` field would reach the detector
    (identify redacts whole histories through this anchor); `authorization` still is."""
    return rf"(?:{_KW}{rest}*|auth(?:orization)?(?:{rest_no_o}{rest}*)?)"


# One leading (?i) for every alternative (RE2 applies it to all of them; Python's `re`, the
# fallback, refuses a (?i) that is not at the start).
ANCHOR = (
    rf"(?i)(?:{_word(_REST, _REST_NO_O)}[ \t]*(?:[:=]|=>|\([ \t]*[\"'])"
    rf"|{_word(_NAME_REST, _NAME_REST_NO_O)}>[^<]"
    rf"|--?[\w.-]*{_word(_NAME_REST, _NAME_REST_NO_O)}[ \t]+[^\s-]"
    rf"|[\"']{_word(_NAME_REST, _NAME_REST_NO_O)}[\"'][ \t]*(?:,|value[ \t]*=)"  # name="..." value="..."
    r"|identified[ \t]+by|with[ \t]+(?:encrypted[ \t]+)?password)"
)

_KEY = r"[A-Za-zñ_$@][\w.$ñ-]{0,80}"
_QVAL = r"(?P<q>[\"'`])(?P<s>[^\"'`\n]{1,300})(?P=q)"  # a quoted literal
# A lookahead at every name boundary: matches overlap, so `f(api_key="...")` is seen after `x = f(`.
_ASSIGN = re.compile(
    r"(?<![\w.$ñ@/-])(?<!\$\{)(?<!%\{)(?<!#\{)"  # not `${NAME:default}`: a reference's fallback
    rf"(?=(?P<key>{_KEY})[\"'`]?\]?[ \t]*(?P<op>:=|=>|===?|!==?|=|:)[ \t]*"
    r"(?:[bru]|SecretStr\(|Secret\()?"
    r"(?:(?P<q>[\"'`])(?P<s>[^\"'`\n]{1,300})(?P=q)|(?P<u>[^\s\"'`,;&)}\]<]{1,300})))"
)
_CALL = re.compile(rf"(?P<key>[A-Za-z_][\w]{{0,60}})[ \t]*\([ \t]*{_QVAL}[ \t]*\)")
_PAIR = re.compile(rf"[\"'](?P<key>[\w.-]{{1,80}})[\"'][ \t]*,[ \t]*{_QVAL}")
_XML = re.compile(r"<(?P<key>[\w:.-]{1,60})(?:[ \t][^<>]{0,200})?>(?P<s>[^<\s]{1,300})</(?P=key)>")
_NAME_VALUE = re.compile(
    rf"(?i)(?:name|key)[ \t]*=[ \t]*[\"'](?P<key>[\w.:-]{{1,80}})[\"'][ \t]+value[ \t]*=[ \t]*{_QVAL}"
)
_FLAG = re.compile(
    r"(?<![\w-])--?(?P<key>[A-Za-z][\w.-]{0,100})(?:[ \t]+|=)(?:(?P<q>[\"'])(?P<s>[^\"'\n]{1,300})(?P=q)"
    r"|(?P<u>[^\s\"'`\\|;&<>()-][^\s\"'`|;&<>()]{0,299}))"
)
_SQL = re.compile(rf"(?i)\b(?P<key>identified[ \t]+by|with[ \t]+(?:encrypted[ \t]+)?password)[ \t]+{_QVAL}")
_USERPASS = re.compile(
    r"(?i)(?<![\w-])(?P<key>[\w-]*(?:auth|credentials?|userpass|user)|-u)(?:[ \t]*=[ \t]*|:[ \t]+|[ \t]+)"
    r"(?P<q>[\"']?)[\w.@+-]{1,64}:(?P<s>[^\s\"'@/:]{1,200})(?P=q)(?=$|[\s,;&)])"
)

_CODE_SUFFIXES = (
    ".py", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".go", ".java", ".kt", ".kts", ".scala",
    ".rb", ".php", ".cs", ".swift", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".m", ".dart", ".lua",
    ".groovy", ".vue", ".svelte", ".gradle",
)  # fmt: skip
_FORMATS = (
    ((".yml", ".yaml"), "YAML"),
    ((".json", ".jsonc"), "JSON"),
    ((".toml",), "TOML"),
    ((".ini", ".cfg", ".conf", ".properties"), "an INI/properties file"),
    ((".xml", ".config", ".csproj", ".jsp", ".html"), "XML"),
    ((".sh", ".bash", ".zsh", ".ps1", ".bat", ".cmd"), "a shell script"),
    ((".sql",), "SQL"),
    ((".md", ".rst", ".adoc", ".txt"), "documentation"),
    ((".tf", ".tfvars", ".hcl"), "Terraform"),
    (_CODE_SUFFIXES, "code"),
)
_YAML_BLOCK = frozenset({"|", ">", "|-", ">-", "|+", ">+"})
# Lock files pin packages (`'@inquirer/password': 5.1.1`): names and versions, never credentials.
_LOCK_FILES = frozenset(
    {"package-lock.json", "pnpm-lock.yaml", "yarn.lock", "cargo.lock", "poetry.lock", "gemfile.lock",
     "composer.lock", "go.sum", "uv.lock", "pipfile.lock", "packages.lock.json", "npm-shrinkwrap.json"}
)  # fmt: skip
_SAFE_KEY = re.compile(r"[^\w.$-]")
_COMPARE = frozenset({"==", "===", "!=", "!=="})


def file_format(path: str) -> str:
    """The kind of file, in words, for a finding's reason."""
    low = path.lower()
    name = low.rsplit("/", 1)[-1]
    if name.startswith(".env") or name.endswith(".env"):
        return "a .env file"
    if name.startswith("dockerfile") or name.endswith(".dockerfile"):
        return "a Dockerfile"
    for suffixes, label in _FORMATS:
        if low.endswith(suffixes):
            return label
    return "a file" if path else "a message"


def _is_code(path: str) -> bool:
    return path.lower().endswith(_CODE_SUFFIXES)


def _shown_key(key: str, value: str) -> str:
    """The name as a reason may show it: a name, bounded, and never holding the value."""
    key = _SAFE_KEY.sub("", key)[:60]
    return key if key and value not in key else "a credential name"


Candidate = tuple[str, Confidence | None, str]  # value, confidence (None: rejected), reason


def _one(key: str, value: str, kind: KeyKind, reason: str, compare: bool = False) -> Candidate:
    return value, judge(value, kind, compare=compare), reason


def _assignments(path: str, line: str, where: str) -> Iterator[Candidate]:
    code = _is_code(path)
    for m in _ASSIGN.finditer(line):
        key, op = m.group("key").lstrip("$@"), m.group("op")
        kind = key_kind(key)
        if kind is None:
            continue
        value = m.group("s") if m.group("s") is not None else m.group("u")
        # Unquoted in code: an expression (`password = user.password`); in config: the value.
        unquoted = m.group("u") is not None
        if unquoted and (
            code or "[" in value or "(" in value or value.endswith((":", "{")) or value in _YAML_BLOCK
        ):
            continue
        shown = _shown_key(key, value)
        yield _one(key, value, kind, f"value assigned to `{shown}` in {where}", op in _COMPARE)


def _keyed_literals(line: str, where: str) -> Iterator[Candidate]:
    for rx, how in ((_CALL, "passed to `{}(...)`"), (_PAIR, "paired with `{}`"), (_NAME_VALUE, "named `{}`")):
        for m in rx.finditer(line):
            key = re.sub(r"^(?:set|with)(?=[A-Z_])", "", m.group("key"))
            kind = key_kind(key)
            if kind is not None:
                value = m.group("s")
                yield _one(key, value, kind, f"literal {how.format(_shown_key(key, value))} in {where}")
    for m in _XML.finditer(line):
        kind = key_kind(m.group("key"))
        if kind is not None:
            value = m.group("s")
            yield _one(
                m.group("key"), value, kind, f"value of the `<{_shown_key(m.group('key'), value)}>` element"
            )


def _commands(line: str, where: str) -> Iterator[Candidate]:
    for m in _FLAG.finditer(line):
        kind = key_kind(m.group("key"))
        if kind is not None:
            value = m.group("s") if m.group("s") is not None else m.group("u")
            shown = _shown_key(m.group("key"), value)
            yield _one(m.group("key"), value, kind, f"argument of the `--{shown}` flag in {where}")
    for m in _SQL.finditer(line):
        yield _one("password", m.group("s"), "password", f"SQL `{m.group('key').upper()}` literal in {where}")
    for m in _USERPASS.finditer(line):
        value = m.group("s")
        yield _one(
            "password",
            value,
            "password",
            f"password of a user:password pair after `{_shown_key(m.group('key'), value)}` in {where}",
        )


def find(path: str, line: str) -> list[Candidate]:
    """Every candidate value on `line`, judged: a confidence, or None when it stands for a secret
    rather than being one (those values are vetoed for the other engines too)."""
    if path.lower().rsplit("/", 1)[-1] in _LOCK_FILES:
        return []
    where = file_format(path)
    out: dict[str, Candidate] = {}
    for cand in (*_assignments(path, line, where), *_keyed_literals(line, where), *_commands(line, where)):
        value, conf, _ = cand
        prev = out.get(value)
        if prev is None or (prev[1] is None and conf is not None):
            out[value] = cand
    return list(out.values())
