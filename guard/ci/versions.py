"""The package's *own* version in a manifest, and released sections of a changelog.

Manifests are parsed, not grepped: TOML with `tomllib` (quoted and dotted keys, inline tables,
single-quoted keys all read as the format defines them), JSON with `json` after a UTF-8 BOM is
stripped, `setup.cfg` with `configparser` (no interpolation). The same reader runs on both sides
of the diff. Only where a project states its own version is read: `[project]`/`[tool.poetry]`,
Cargo's `[package]`/`[workspace.package]`, the top-level `version` of package.json and friends,
`[metadata]` of setup.cfg, the `<version>` directly under `<project>` in pom.xml. Chart.yaml is
parsed as YAML (the bounded loader; the scalar as written, so `1.10` stays `1.10`), and
gradle.properties as Java properties (`=`, `:` or whitespace separators, `\\` continuations).
Dependency versions live elsewhere and are never read. A manifest whose new side cannot be parsed
raises `ManifestError`: a bump cannot be ruled out, so release.py reports it instead of passing
(it does the same for a manifest too large to read, and reads one git calls binary).
Formats that are code (gemspec, version.rb, setup.py, csproj, `__version__`) keep line readers.
"""

from __future__ import annotations

import configparser
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from guard.safeyaml import DocumentError, load_json, load_yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

_INI_KEY = re.compile(r"^\s*version\s*[=:]", re.IGNORECASE)
MAX_MANIFEST = 2_000_000  # characters: a manifest larger than this is not parsed (ManifestError)


class ManifestError(ValueError):
    """A manifest that cannot be parsed: a version change in it cannot be ruled out."""


@dataclass(frozen=True)
class Version:
    value: str
    line: int


_PY_VERSION = re.compile(r"""^__version__\s*(?::\s*\w+\s*)?=\s*["']([^"']+)["']""")
_RB_VERSION = re.compile(r"""^\s*VERSION\s*=\s*["']([^"']+)["']""")
_SETUP_PY = re.compile(r"""\bversion\s*=\s*["']([^"']+)["']""")
_GEMSPEC = re.compile(r"""\.version\s*=\s*["']([^"']+)["']""")
_CSPROJ = re.compile(r"<(Version|VersionPrefix)>\s*([^<\s]+)\s*</")
_PLAIN = re.compile(r"^v?\d+(\.\d+)+\S*$")
_XML_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z_][\w.:-]*)[^>]*?(/?)>", re.DOTALL)
TOML_TABLES = {
    "pyproject.toml": ("project", "tool.poetry"),
    "Cargo.toml": ("package", "workspace.package"),
}
JSON_MANIFESTS = ("package.json", "lerna.json", "composer.json", "jsr.json", "deno.json")


def _first(pattern: re.Pattern[str], text: str, group: int = 1) -> Version | None:
    for i, line in enumerate(text.splitlines(), 1):
        m = pattern.search(line)
        if m:
            return Version(m.group(group).strip("\"'"), i)
    return None


def _line_of(text: str, value: str) -> int:
    """Where a parsed value is written: the first line holding it that names a version, else the
    first line holding it at all, else 1 (it cannot be told, e.g. written with escapes)."""
    token = re.compile(r"(?<![\w.+-])" + re.escape(value) + r"(?![\w.+-])")
    lines = text.splitlines()
    hits = [i for i, ln in enumerate(lines, 1) if token.search(ln)]
    keyed = [i for i in hits if "version" in lines[i - 1].lower()]
    return (keyed or hits or [1])[0]


def _toml(text: str, tables: tuple[str, ...]) -> Version | None:
    if len(text) > MAX_MANIFEST:
        raise ManifestError(f"larger than {MAX_MANIFEST} characters")
    try:
        doc: Any = tomllib.loads(text.lstrip("\ufeff"))
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"invalid TOML: {e}") from None
    for table in tables:
        node = doc
        for key in table.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        v = node.get("version") if isinstance(node, dict) else None
        if isinstance(v, str):  # `version.workspace = true` inherits: declares nothing here
            return Version(v, _line_of(text, v))
    return None


def _ini(text: str, section: str) -> Version | None:
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cp.read_string(text.lstrip("\ufeff"))
    except configparser.Error as e:
        raise ManifestError(f"invalid INI: {str(e).splitlines()[0]}") from None
    v = cp.get(section, "version", fallback=None)
    if not v or not v.strip():
        return None
    v = v.strip()
    lines = text.splitlines()
    key = next((i for i, ln in enumerate(lines) if _INI_KEY.match(ln)), 0)
    return Version(v, next((i + 1 for i in range(key, len(lines)) if v in lines[i]), 1))


def _pom(text: str) -> Version | None:
    """The `<version>` that is a direct child of `<project>` (not of `<parent>` or a dependency)."""
    stack: list[str] = []
    for m in _XML_TAG.finditer(text):
        if m.group(0).startswith("<!--") or m.group(0).startswith("<?"):
            continue
        closing, name, selfclosing = m.group(1), m.group(2), m.group(3)
        if closing:
            if stack and stack[-1] == name:
                stack.pop()
        elif not selfclosing:
            if name == "version" and stack == ["project"]:
                end = text.find("</version>", m.end())
                if end > 0:
                    return Version(text[m.end() : end].strip(), text.count("\n", 0, m.start()) + 1)
            stack.append(name)
    return None


def _json(text: str) -> Version | None:
    body = text.lstrip("\ufeff")  # a UTF-8 BOM is valid in manifests npm and others read
    try:
        doc = load_json(body, "manifest")
    except DocumentError as e:
        raise ManifestError(str(e)) from None
    v = doc.get("version") if isinstance(doc, dict) else None  # the last of duplicates, as npm
    return Version(v, _line_of(text, v)) if isinstance(v, str) else None


def _chart(text: str) -> Version | None:
    """Chart.yaml's top-level `version`, as written (quoted key, flow mapping, any scalar style)."""
    try:
        doc = load_yaml(text, "Chart.yaml")  # the caps (size, depth, aliases) before composing
    except DocumentError as e:
        raise ManifestError(e.reason) from None
    if not isinstance(doc, dict) or doc.get("version") is None:
        return None
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    scalars = (
        [v for k, v in getattr(node, "value", []) if getattr(k, "value", None) == "version"]
        if isinstance(node, yaml.MappingNode)
        else []
    )
    if scalars and isinstance(scalars[-1], yaml.ScalarNode):  # the last of duplicates, as loaded
        return Version(str(scalars[-1].value).strip(), scalars[-1].start_mark.line + 1)
    v = str(doc["version"])  # e.g. from a merge key
    return Version(v, _line_of(text, v))


_PROP_KEY_END = re.compile(r"(?<!\\)(?:\\\\)*[=:\s]")


def _properties(text: str) -> Version | None:
    """`version` of a Java properties file (gradle.properties); the last one wins, as `load` does."""
    found: Version | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start, logical = i, lines[i].lstrip(" \t\f")
        while (len(logical) - len(logical.rstrip("\\"))) % 2 and i + 1 < len(lines):
            i += 1
            logical = logical[:-1] + lines[i].lstrip(" \t\f")
        i += 1
        if not logical or logical[0] in "#!":
            continue
        m = _PROP_KEY_END.search(logical)
        key = logical[: m.end() - 1] if m else logical
        rest = logical[m.end() - 1 :] if m else ""
        value = re.sub(r"^[ \t\f]*[=:]?[ \t\f]*", "", rest).strip()
        if re.sub(r"\\(.)", r"\1", key) == "version" and value:
            found = Version(value, next((j + 1 for j in range(start, i) if value in lines[j]), start + 1))
    return found


def _reader(path: str) -> Callable[[str], Version | None] | None:
    """How to read the project's own version from a file at `path`; None: it declares none."""
    name = path.rsplit("/", 1)[-1]
    low = name.lower()
    if name in TOML_TABLES:
        return lambda text: _toml(text, TOML_TABLES[name])
    if name == "setup.cfg":
        return lambda text: _ini(text, "metadata")
    if name == "setup.py":
        return lambda text: _first(_SETUP_PY, text)
    if name in JSON_MANIFESTS:
        return _json
    if name == "Chart.yaml":
        return _chart
    if name == "pom.xml":
        return _pom
    if low.endswith(".gemspec"):
        return lambda text: _first(_GEMSPEC, text)
    if name == "version.rb":
        return lambda text: _first(_RB_VERSION, text)
    if name == "gradle.properties":
        return _properties
    if low.endswith(".csproj") or name == "Directory.Build.props":
        return lambda text: _first(_CSPROJ, text, 2)
    if low in ("version", "version.txt"):
        return _plain
    if low.endswith(".py"):
        return lambda text: _first(_PY_VERSION, text)
    return None


def _plain(text: str) -> Version | None:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return Version(first, 1) if _PLAIN.match(first) else None


def own_version(path: str, text: str) -> Version | None:
    """The version this file declares for the project itself, or None; `ManifestError` when a
    parsed manifest cannot be read."""
    read = _reader(path)
    return read(text) if read is not None else None


def may_declare_version(path: str, patch: bytes | None) -> bool:
    """Whether a change to `path` can change the version it declares, without reading it: a
    manifest by name; any Python file only when its hunks (`patch`, None: not at hand) touch a
    `__version__` line (otherwise both sides declare the same one)."""
    if _reader(path) is None:
        return False
    if path.lower().endswith(".py") and patch is not None:
        return b"__version__" in patch
    return True


CHANGELOG = re.compile(r"(^|/)(CHANGELOG|CHANGES|HISTORY|NEWS|RELEASE[-_]?NOTES)(\.[a-z]+)?$", re.IGNORECASE)
_MD_HEADING = re.compile(r"^#{1,4}\s*(?:\[?v|\[)?(\d+\.\d+(?:\.\d+)?[\w.+-]*)\]?(.*)$", re.IGNORECASE)
_RST_HEADING = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?[\w.+-]*)(\s.*)?$", re.IGNORECASE)
_UNDERLINE = re.compile(r"^([=\-~^*+#])\1{2,}\s*$")


def changelog_releases(text: str) -> dict[str, int]:
    """Version -> line of each released (not 'Unreleased') section heading."""
    out: dict[str, int] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _MD_HEADING.match(line)
        if not m and i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]):
            m = _RST_HEADING.match(line.strip())
        if m and "unreleased" not in line.lower():
            out.setdefault(m.group(1).rstrip("."), i + 1)
    return out
