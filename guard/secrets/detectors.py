"""Our own detectors: current credential formats, written from the providers' documentation.

Each detector has an *anchor* (a cheap, linear-time pattern in the RE2 subset, used by the
prefilter to pick candidate lines) and a *pattern* (Python `re`, run only on those lines; group
``s`` is the secret). A validator turns a match into a confidence or rejects it (placeholders,
documentation examples, references to variables). Patterns use bounded repetition only, so a
hostile line cannot cause catastrophic backtracking.

Length: a declaration table (one entry per provider format, with its documentation source); the
code around it is short.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from guard.secrets import generic
from guard.secrets.filters import is_placeholder, looks_like_reference, low_entropy_body
from guard.secrets.generic_values import stands_for_one

Confidence = str  # "low" | "medium" | "high"
CONFIDENCE_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class Ctx:
    """What a validator may look at besides the match."""

    path: str
    line: str
    next_line: str | None


Validator = Callable[["re.Match[str]", Ctx], "Confidence | None"]
Scanner = Callable[[str, str], "list[generic.Candidate]"]  # (path, line) -> judged candidates
Tier = str  # "high": provider formats and private keys; "generic": judged by context


@dataclass(frozen=True)
class Detector:
    name: str
    # A superset of `pattern` in the RE2 subset that never matches a newline (the prefilter runs over
    # lines joined by \n). Short counts and `*` only: counted repetition multiplies DFA states.
    anchor: str
    pattern: re.Pattern[str] | None  # None: `scan` finds and judges the values itself
    confidence: Confidence = "high"
    validate: Validator | None = None
    description: str = ""
    scan: Scanner | None = None
    tier: Tier = "high"
    reason: str = ""  # why a hit is a credential, in words (default: the format's description)

    def why(self) -> str:
        return self.reason or f"matches the {self.description.split(' (')[0]} format"


def _token(min_entropy: float = 3.0) -> Validator:
    """Prefixed tokens: reject placeholders and low-entropy bodies (``ghp_xxxxxxxx...``)."""

    def v(m: re.Match[str], ctx: Ctx) -> Confidence | None:
        s = m.group("s")
        if is_placeholder(s) or low_entropy_body(s, min_entropy):
            return None
        return "high"

    return v


def _b64json(part: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None


_JWT_SECRET_CLAIMS = re.compile(r"(?i)secret|password|service_role|api_?key|private")


def _jwt(m: re.Match[str], ctx: Ctx) -> Confidence | None:
    header_part, payload_part, sig = m.group("s").split(".", 2)
    header, payload = _b64json(header_part), _b64json(payload_part)
    if not isinstance(header, dict) or not isinstance(payload, dict) or "alg" not in header:
        return None
    if not sig or str(header.get("alg", "")).lower() == "none":
        return "low"  # unsigned: not a bearer credential
    if payload.get("role") == "anon":
        return "low"  # Supabase-style anonymous keys are public by design
    if _JWT_SECRET_CLAIMS.search(json.dumps(payload)):
        return "high"
    return "medium"


_PEM_BODY = re.compile(r"^[\s\"'`]*(?:[A-Za-z0-9+/=]{40,}|Proc-Type:|Comment:|[A-Za-z0-9+/]{20,}\\n)")


def _private_key(m: re.Match[str], ctx: Ctx) -> Confidence | None:
    rest = ctx.line[m.end() :]
    if "\\n" in rest[:4] and re.match(r"\\n[A-Za-z0-9+/=]{20,}", rest):
        return "high"  # a whole key on one line (JSON, env)
    if ctx.next_line is not None and _PEM_BODY.match(ctx.next_line):
        return "high"
    return "low"  # a header alone: code that looks for keys, docs


_B64 = re.compile(r"^[A-Za-z0-9+/]{8,}={0,2}$")


def _basic_auth(m: re.Match[str], ctx: Ctx) -> Confidence | None:
    s = m.group("s")
    if not _B64.match(s):
        return None
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4)).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    user, sep, pw = raw.partition(":")
    if not sep or not pw or is_placeholder(pw) or is_placeholder(user + ":" + pw):
        return None
    return "high"


def _bearer(m: re.Match[str], ctx: Ctx) -> Confidence | None:
    s = m.group("s")
    if is_placeholder(s) or looks_like_reference(s) or low_entropy_body(s, 3.0):
        return None
    return "high" if len(s) >= 20 else "medium"


_URL_PLACEHOLDER_PW = frozenset({"password", "pass", "passwd", "pwd", "secret", "changeme", "pw", "p"})


def _url_password(m: re.Match[str], ctx: Ctx) -> Confidence | None:
    pw = m.group("s")
    if is_placeholder(pw) or stands_for_one(pw) or pw.lower() in _URL_PLACEHOLDER_PW:
        return None
    if pw.startswith((":", "$", "%")) or set(pw) <= {"*", "x", "X", "."}:
        return None
    return "high" if len(pw) >= 8 else "medium"


def _keyed(min_len: int = 16, min_entropy: float = 3.0) -> Validator:
    """Secrets recognised by the key they are assigned to (no distinctive prefix of their own)."""

    def v(m: re.Match[str], ctx: Ctx) -> Confidence | None:
        s = m.group("s")
        if len(s) < min_len or is_placeholder(s) or low_entropy_body(s, min_entropy):
            return None
        return "high"

    return v


def _c(p: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(p, flags)


_B = r"(?<![A-Za-z0-9_])"  # left boundary (Python side only)
_E = r"(?![A-Za-z0-9_])"  # right boundary

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "github-token",
        r"gh[pousr]_[A-Za-z0-9_]{8}",
        _c(_B + r"(?P<s>gh[pousr]_[A-Za-z0-9]{36,251})" + _E),
        validate=_token(),
        description="GitHub classic PAT, OAuth, user-to-server, app installation and refresh tokens",
    ),
    Detector(
        "github-fine-grained-pat",
        r"github_pat_",
        _c(_B + r"(?P<s>github_pat_[A-Za-z0-9]{22,}_[A-Za-z0-9]{30,})" + _E),
        validate=_token(),
        description="GitHub fine-grained personal access token",
    ),
    Detector(
        "gitlab-token",
        r"gl(?:pat|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|oas|ffct|wt|sa)-|GR1348941",
        _c(
            _B
            + r"(?P<s>(?:gl(?:pat|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|oas|ffct|wt|sa)-|GR1348941)"
            + r"[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{2,}){0,3})"
            + _E
        ),
        validate=_token(),
        description="GitLab access, deploy, runner, CI job, trigger, feed, mail, agent, OAuth tokens",
    ),
    Detector(
        "openai-api-key",
        r"\bsk-[A-Za-z0-9_-]{8}",
        _c(
            _B
            + r"(?P<s>sk-(?!ant-)(?:(?:proj|svcacct|admin|None)-)?"
            + r"(?:[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}"
            + r"|(?<=-)[A-Za-z0-9_-]{58,200}))"
            + _E
        ),
        validate=_token(3.5),
        description="OpenAI API keys (legacy, project, service-account and admin)",
    ),
    Detector(
        "anthropic-api-key",
        r"sk-ant-",
        _c(_B + r"(?P<s>sk-ant-(?:api|admin|oat|ort|sid)\d{2}-[A-Za-z0-9_-]{32,200})" + _E),
        validate=_token(3.5),
        description="Anthropic API, admin and OAuth keys",
    ),
    Detector(
        "google-api-key",
        r"AIza[0-9A-Za-z_-]{8}",
        _c(_B + r"(?P<s>AIza[0-9A-Za-z_-]{35})" + _E),
        validate=_token(),
        description="Google API key",
    ),
    Detector(
        "google-service-account",
        r"\"private_key_id\"",
        _c(r"\"private_key_id\"\s*:\s*\"(?P<s>[0-9a-f]{40})\""),
        validate=_keyed(40, 3.0),
        description="Google service-account JSON (its private key is reported by private-key)",
    ),
    Detector(
        "aws-access-key-id",
        r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{8}",
        _c(_B + r"(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + _E),
        validate=_token(2.5),
        description="AWS access key id (long-term and temporary)",
    ),
    Detector(
        "aws-secret-access-key",
        r"(?i)aws.{0,20}secret|secret_?access",  # the pattern's own start: not every `aws` word
        _c(
            r"(?i)(?:aws.{0,20}secret|secret_?access_?key).{0,20}?[=:>\s\"']\s*[\"']?"
            r"(?P<s>(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        validate=_keyed(40, 3.5),
        description="AWS secret access key next to its name",
    ),
    Detector(
        "azure-storage-key",
        r"(?i)(?:AccountKey|SharedAccessKey)=",
        _c(r"(?i)(?:AccountKey|SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{40,100}={0,2})"),
        validate=_keyed(40, 3.5),
        description="Azure storage account / Service Bus / Event Hubs key in a connection string",
    ),
    Detector(
        "azure-client-secret",
        r"\dQ~",
        _c(_B + r"(?P<s>[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])"),
        validate=_token(),
        description="Microsoft Entra ID (Azure AD) application client secret",
    ),
    Detector(
        "azure-sas-token",
        r"sig=",
        _c(
            r"(?:\?|&)(?:sv|se|sp|sr|st|spr|ss|srt)=[^&\s\"']{1,40}&.{0,300}?sig=(?P<s>[A-Za-z0-9%+/]{30,100}(?:%3[Dd]|=){0,2})"
        ),
        validate=_keyed(30, 3.5),
        description="Azure shared access signature",
    ),
    Detector(
        "stripe-key",
        r"[rs]k_(?:live|test)_",
        _c(_B + r"(?P<s>[rs]k_(?:live|test)_[A-Za-z0-9]{20,247})" + _E),
        validate=lambda m, c: (
            None
            if is_placeholder(m.group("s")) or low_entropy_body(m.group("s"), 3.0)
            else ("high" if "_live_" in m.group("s") else "low")
        ),
        description="Stripe secret and restricted keys (test-mode keys: low confidence)",
    ),
    Detector(
        "slack-token",
        r"xox[abposre]-",
        _c(_B + r"(?P<s>xox[abposre]-(?:\d+-)?[0-9A-Za-z-]{10,250})" + _E),
        validate=_token(),
        description="Slack bot, user, app, config and refresh tokens",
    ),
    Detector(
        "slack-app-token",
        r"xapp-\d-",
        _c(_B + r"(?P<s>xapp-\d-[A-Z0-9]{8,}-\d{6,}-[a-f0-9]{32,})" + _E),
        validate=_token(),
        description="Slack app-level token",
    ),
    Detector(
        "slack-webhook",
        r"hooks\.slack\.com/",
        _c(r"(?P<s>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,200})"),
        validate=_token(2.5),
        description="Slack incoming webhook / workflow URL",
    ),
    Detector(
        "npm-token",
        r"npm_[A-Za-z0-9]{8}",
        _c(_B + r"(?P<s>npm_[A-Za-z0-9]{36})" + _E),
        validate=_token(),
        description="npm access token",
    ),
    Detector(
        "npmrc-auth",
        r"_auth(?:Token)?[ \t]*=",
        _c(r"(?:_authToken|_auth|_password)\s*=\s*[\"']?(?P<s>[A-Za-z0-9+/=_.-]{16,})"),
        validate=_keyed(16, 3.0),
        tier="generic",
        reason="value of an auth setting in an .npmrc",
        description="auth token or password in an .npmrc",
    ),
    Detector(
        "pypi-token",
        r"pypi-AgE",
        _c(_B + r"(?P<s>pypi-AgE[A-Za-z0-9_-]{50,})" + _E),
        validate=_token(),
        description="PyPI / TestPyPI API token",
    ),
    Detector(
        "dockerhub-token",
        r"dckr_(?:pat|oat)_",
        _c(_B + r"(?P<s>dckr_(?:pat|oat)_[A-Za-z0-9_-]{24,})" + _E),
        validate=_token(),
        description="Docker Hub personal / organisation access token",
    ),
    Detector(
        "vault-token",
        r"hv[sbr]\.[A-Za-z0-9_-]{8}",
        _c(_B + r"(?P<s>hv[sbr]\.[A-Za-z0-9_-]{24,})" + _E),
        validate=_token(),
        description="HashiCorp Vault service, batch and recovery tokens",
    ),
    Detector(
        "terraform-cloud-token",
        r"\.atlasv1\.",
        _c(_B + r"(?P<s>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_-]{60,})" + _E),
        validate=_token(),
        description="Terraform Cloud / Enterprise API token",
    ),
    Detector(
        "datadog-key",
        r"(?i)(?:dd|datadog)[\w.-]*(?:api|app)",
        _c(
            r"(?i)(?:dd|datadog)[\w.-]{0,20}(?:api|app(?:lication)?)[\w.-]{0,10}key[\w\"']{0,3}\s*[:=]+\s*[\"']?"
            r"(?P<s>[a-f0-9]{32}|[a-f0-9]{40})(?![A-Za-z0-9])"
        ),
        validate=_keyed(32, 3.0),
        description="Datadog API and application keys next to their names",
    ),
    Detector(
        "sendgrid-api-key",
        r"SG\.[A-Za-z0-9_-]{8}",
        _c(_B + r"(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})" + _E),
        validate=_token(),
        description="SendGrid API key",
    ),
    Detector(
        "twilio-api-key",
        r"SK[0-9a-f]{8}",
        _c(_B + r"(?P<s>SK[0-9a-f]{32})" + _E),
        validate=_token(),
        description="Twilio API key SID",
    ),
    Detector(
        "twilio-auth-token",
        r"(?i)twilio",
        _c(
            r"(?i)twilio[\w.-]{0,20}(?:auth|token|secret)[\w\"']{0,10}\s*[:=]+\s*[\"']?(?P<s>[a-f0-9]{32})(?![a-f0-9])"
        ),
        validate=_keyed(32, 3.0),
        description="Twilio auth token next to its name",
    ),
    Detector(
        "shopify-token",
        r"shp(?:at|ca|pa|ss)_",
        _c(_B + r"(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})" + _E),
        validate=_token(),
        description="Shopify access, custom-app, private-app tokens and shared secrets",
    ),
    Detector(
        "discord-bot-token",
        r"[MNO][A-Za-z0-9_-]*\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{8}",
        _c(_B + r"(?P<s>[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})" + _E),
        validate=_token(),
        description="Discord bot token",
    ),
    Detector(
        "telegram-bot-token",
        r"\d{8}:AA",
        _c(r"(?<![0-9])(?P<s>\d{8,10}:AA[0-9A-Za-z_-]{33})" + _E),
        validate=_token(),
        description="Telegram bot token",
    ),
    Detector(
        "square-token",
        r"sq0(?:csp|atp)-",
        _c(_B + r"(?P<s>sq0(?:csp|atp)-[0-9A-Za-z_-]{22,43})" + _E),
        validate=_token(),
        description="Square OAuth secret / access token",
    ),
    Detector(
        "mailchimp-api-key",
        r"[0-9a-f]{4}-us\d",
        _c(_B + r"(?P<s>[0-9a-f]{32}-us\d{1,2})" + _E),
        validate=_token(),
        description="Mailchimp API key",
    ),
    Detector(
        "private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY",
        _c(r"(?P<s>-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)"),
        validate=_private_key,
        description="PEM / OpenSSH / PGP private key blocks",
    ),
    Detector(
        "jwt",
        r"eyJ[A-Za-z0-9_-]*\.eyJ",
        _c(_B + r"(?P<s>eyJ[A-Za-z0-9_-]{8,2000}\.eyJ[A-Za-z0-9_-]{4,8000}\.[A-Za-z0-9_-]{0,2000})" + _E),
        validate=_jwt,
        description="JSON Web Tokens with a signature (unsigned and public anon tokens: low confidence)",
    ),
    Detector(
        "url-password",
        r"://[^{}\s@]*:[^{}\s]*@",
        _c(
            r"(?i)\b(?:[a-z][a-z0-9+.-]{1,20}):/{2}(?P<user>[^\s/@:'\"<>{}]{0,100}):"
            r"(?P<s>[^\s/@'\"<>]{1,200})@[A-Za-z0-9\[\]._-]"
        ),
        validate=_url_password,
        tier="generic",
        reason="password in the user-info of a URL",
        description="database, broker and HTTP URLs with an embedded password",
    ),
    Detector(
        "authorization-bearer",
        r"(?i)bearer[ \t]+[A-Za-z0-9._~+/-]{8}",
        _c(r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9._~+/-]{16,2000}=*)(?![A-Za-z0-9._~+/=-])"),
        validate=_bearer,
        tier="generic",
        reason="value of an Authorization: Bearer header",
        description="Authorization: Bearer values",
    ),
    Detector(
        "authorization-basic",
        r"(?i)basic[ \t]+[A-Za-z0-9+/]{8}",
        _c(r"(?i)\bbasic\s+(?P<s>[A-Za-z0-9+/]{8,2000}={0,2})(?![A-Za-z0-9+/=])"),
        validate=_basic_auth,
        tier="generic",
        reason="user:password of an Authorization: Basic header",
        description="Authorization: Basic credentials (decoded to user:password)",
    ),
    Detector(
        generic.NAME,
        generic.ANCHOR,
        None,
        confidence="medium",
        scan=generic.find,
        tier="generic",
        description="a literal assigned to a credential name in code, config, .env, YAML, XML, "
        "SQL, shell and CLI flags (guard/secrets/generic.py)",
    ),
)

BY_NAME: dict[str, Detector] = {d.name: d for d in DETECTORS}
