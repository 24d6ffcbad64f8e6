"""Fake credentials in the providers' documented formats, generated from a seed (never real ones).

The labelled set stores templates (`@@kind@@`) rather than literal tokens, so this repository holds
no credential-shaped strings of its own and each run scans freshly generated values.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable

B62 = string.ascii_letters + string.digits
B64 = B62 + "+/"
URL = B62 + "_-"
HEX = "0123456789abcdef"
B32 = string.ascii_uppercase + "234567"


class Fakes:
    def __init__(self, seed: int = 4) -> None:
        self.rng = random.Random(seed)
        self.kinds: dict[str, Callable[[], str]] = {
            "ghp": lambda: "ghp_" + self.s(B62, 36),
            "gho": lambda: "gho_" + self.s(B62, 36),
            "ghs": lambda: "ghs_" + self.s(B62, 36),
            "ghu": lambda: "ghu_" + self.s(B62, 36),
            "ghpat": lambda: f"github_pat_{self.s(B62, 22)}_{self.s(B62, 59)}",
            "glpat": lambda: "glpat-" + self.s(URL, 20),
            "glrt": lambda: "glrt-" + self.s(URL, 20),
            "gldt": lambda: "gldt-" + self.s(URL, 20),
            "glcbt": lambda: "glcbt-" + self.s(URL, 20),
            "glptt": lambda: "glptt-" + self.s(HEX, 40),
            "glreg": lambda: "GR1348941" + self.s(URL, 20),
            "openai": lambda: "sk-" + self.s(B62, 20) + "T3BlbkFJ" + self.s(B62, 20),
            "openai_proj": lambda: "sk-proj-" + self.s(URL, 64) + "T3BlbkFJ" + self.s(URL, 64),
            "anthropic": lambda: "sk-ant-api03-" + self.s(URL, 93) + "AA",
            "google": lambda: "AIza" + self.s(URL, 35),
            "gsa_id": lambda: self.s(HEX, 40),
            "akia": lambda: "AKIA" + self.s(B32, 16),
            "asia": lambda: "ASIA" + self.s(B32, 16),
            "aws_secret": lambda: self.s(B64, 40),
            "azure_storage": lambda: self.s(B64, 86) + "==",
            "azure_client": lambda: self.s(URL, 3) + self.s("0123456789", 1) + "Q~" + self.s(URL + "~.", 34),
            "stripe": lambda: "sk_live_" + self.s(B62, 24),
            "stripe_rk": lambda: "rk_live_" + self.s(B62, 24),
            "slack_bot": lambda: (
                f"xoxb-{self.s('0123456789', 11)}-{self.s('0123456789', 13)}-{self.s(B62, 24)}"
            ),
            "slack_user": lambda: (
                f"xoxp-{self.s('0123456789', 11)}-{self.s('0123456789', 12)}-{self.s(HEX, 32)}"
            ),
            "slack_hook": lambda: (
                f"https://hooks.slack.com/services/T{self.s(B32, 8)}/B{self.s(B32, 10)}/" + self.s(B62, 24)
            ),
            "npm": lambda: "npm_" + self.s(B62, 36),
            "pypi": lambda: "pypi-AgEIcHlwaS5vcmc" + self.s(URL, 70),
            "docker": lambda: "dckr_pat_" + self.s(URL, 27),
            "vault": lambda: "hvs." + self.s(URL, 24),
            "vault_long": lambda: "hvs.CAESI" + self.s(URL, 86),
            "tfc": lambda: self.s(B62, 14) + ".atlasv1." + self.s(URL, 67),
            "hex32": lambda: self.s(HEX, 32),
            "hex40": lambda: self.s(HEX, 40),
            "sendgrid": lambda: f"SG.{self.s(URL, 22)}.{self.s(URL, 43)}",
            "twilio_sk": lambda: "SK" + self.s(HEX, 32),
            "shopify": lambda: "shpat_" + self.s(HEX, 32),
            "discord": lambda: "M" + self.s(B62, 23) + "." + self.s(URL, 6) + "." + self.s(URL, 27),
            "telegram": lambda: self.s("123456789", 9) + ":AA" + self.s(URL, 33),
            "square": lambda: "sq0csp-" + self.s(URL, 43),
            "mailchimp": lambda: self.s(HEX, 32) + "-us" + self.s("123456789", 2),
            "pem_body": lambda: self.s(B64, 64),
            "jwt": lambda: self.jwt({"sub": self.s(HEX, 12), "role": "service_role", "iat": 1700000000}),
            "jwt_user": lambda: self.jwt({"sub": self.s(HEX, 12), "name": "Ada", "iat": 1700000000}),
            "jwt_anon": lambda: self.jwt({"iss": "supabase", "role": "anon", "iat": 1700000000}),
            "jwt_none": lambda: self.jwt({"sub": "x"}, alg="none"),
            "password": lambda: self.s(B62, 8) + self.s("!#%&*+-", 1) + self.s(B62, 5),
            "pw_short": lambda: self.s(string.ascii_lowercase, 4) + self.s("0123456789", 3) + "Q",
            "rand40": lambda: self.s(B62, 40),
            "basic": lambda: base64.b64encode(f"deploy:{self.s(B62, 16)}".encode()).decode(),
            "b64_88": lambda: self.s(B64, 86) + "==",
            "hex64": lambda: self.s(HEX, 64),
            "uuid": lambda: "-".join(self.s(HEX, n) for n in (8, 4, 4, 4, 12)),
            "ssh_pub": lambda: "AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + self.s(B64, 300),
        }

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def jwt(self, payload: dict[str, object], alg: str = "HS256") -> str:
        def enc(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        sig = "" if alg == "none" else self.s(URL, 43)
        return f"{enc({'alg': alg, 'typ': 'JWT'})}.{enc(payload)}.{sig}"

    def fill(self, template: str) -> tuple[str, list[str]]:
        """The template with every @@kind@@ replaced by a fresh value; also returns the values."""
        values: list[str] = []
        parts = template.split("@@")
        for i in range(1, len(parts), 2):
            value = self.kinds[parts[i]]()
            values.append(value)
            parts[i] = value
        return "".join(parts), values
