"""The generic credential detector and the confidence tiers (issue 17): attacks first, then formats.

Values here are synthesised for the test, never real.
"""

from __future__ import annotations

import json

import pytest
from cliutil import cli
from gitutil import Repo

from guard.checks.interface import CheckContext
from guard.checks.secrets import check
from guard.git.repo import GitRepo
from guard.model import Change, Decision, Finding
from guard.policy import DEFAULT_TEST_PATHS, Policy, Rule, SecretsConfig, builtin_policy
from guard.report import json as json_report
from guard.report import markdown, sarif, text
from guard.secrets import generic
from guard.secrets.engine import scan_lines, texts_with_candidates

GHP = "ghp_" + "R8mK2vXq9LwT4nJc7PzY1sHd6FbG3aE5uQ0i"
PW = "Vr7kQ2mpLzw9"  # a chosen password: no provider format, only its name says what it is
TOKEN = "q8Z2xW5vN1bR7tY3uK6m"


def _rule(action: str = "block") -> Rule:
    return Rule(id="secrets", kind="secret", action=action, actors=["any"])  # type: ignore[arg-type]


def _findings(change: Change, policy: Policy | None = None, rule: Rule | None = None) -> list[Finding]:
    return check(CheckContext(change, policy or builtin_policy()), rule or _rule())


def _change(repo: Repo, files: dict[str, str]) -> Change:
    base = repo.head()
    repo.commit("add", files=files)
    return GitRepo(repo.path).build_change(base, "HEAD")


def _generic(path: str, line: str) -> list[tuple[str, str]]:
    """(detector, tier) of every hit of the scanner on one line."""
    return [(h.detector, h.tier) for h in scan_lines(path, [(1, line)])]


# ----- attacks -----


def test_a_generic_secret_in_a_test_path_still_needs_a_person(repo: Repo) -> None:
    change = _change(
        repo, {"tests/conftest.py": f'DB_PASSWORD = "{PW}"\n', "src/db.py": f'password = "{PW}1"\n'}
    )
    by_path = {f.path: f for f in _findings(change)}
    assert by_path["tests/conftest.py"].action == "step-up"  # not allowed silently
    assert by_path["src/db.py"].action == "block"
    assert {f.tier for f in by_path.values()} == {"generic"}


def test_a_provider_token_in_a_test_path_blocks(repo: Repo) -> None:
    [f] = _findings(_change(repo, {"tests/fixtures/gh.json": f'{{"token": "{GHP}"}}\n'}))
    assert (f.category, f.tier, f.action) == ("github-token", "high", "block")


def test_tiers_never_lift_a_rule_above_its_own_action_and_have_no_allow(repo: Repo) -> None:
    change = _change(repo, {"src/app.py": f'api_token = "{TOKEN}"\n'})
    assert [f.action for f in _findings(change, rule=_rule("warn"))] == ["warn"]
    with pytest.raises(ValueError, match="tests"):
        SecretsConfig.model_validate({"tiers": {"generic": {"tests": "allow"}}})


def test_a_change_cannot_re_tier_its_own_secrets(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": "secrets: {}\n"})
    repo.git("checkout", "-q", "-b", "work")
    # Both levers at once: generic finds only warn, and every path counts as a test path.
    relax = "secrets:\n  tiers: {generic: {code: warn, tests: warn}}\n  test_paths: ['**']\n"
    repo.commit("leak and relax", files={".pipeline-guard.yml": relax, "src/app.py": f'password = "{PW}"\n'})
    r = cli(["check", "--repo", str(repo.path), "--base", "main", "--format", "json"])
    data = json.loads(r.stdout)
    [f] = [f for f in data["findings"] if f["kind"] == "secret"]
    assert (f["action"], f["tier"], data["decision"]) == ("block", "generic", "block")
    # Control: the same relaxation at the trusted ref is honoured.
    repo.git("checkout", "-q", "main")
    repo.commit("relax", files={".pipeline-guard.yml": relax})
    repo.git("checkout", "-q", "work")
    repo.git("rebase", "-q", "main")
    data = json.loads(cli(["check", "--repo", str(repo.path), "--base", "main", "--format", "json"]).stdout)
    assert [f["action"] for f in data["findings"] if f["kind"] == "secret"] == ["warn"]


def test_no_value_in_any_output_reason_included(repo: Repo) -> None:
    files = {
        "deploy/db.yml": f"db_password: {PW}\n",
        "docker-compose.yml": f"    environment:\n      - MYSQL_PASSWORD={PW}2\n",
        "run.sh": f"deploy --repotoken {TOKEN}\n",
        "init.sql": f"CREATE USER app IDENTIFIED BY '{PW}3';\n",
        f"{PW}4": "x\n",  # a key name can never carry a value into a reason: names are bounded words
    }
    change = _change(repo, files)
    found = _findings(change)
    assert len(found) >= 4 and all(f.reason for f in found)
    d = Decision(verdict="block", mode="enforce", findings=found, reasons=[], change=change)
    outputs = [json_report.render(d), sarif.render(d), markdown.render(d), text.render(d), repr(found)]
    for out in outputs:
        for v in (PW, TOKEN):
            assert v not in out and v[:8] not in out
    assert "value assigned to `db_password` in YAML" in json_report.render(d)
    props = [r["properties"] for r in json.loads(sarif.render(d))["runs"][0]["results"]]
    assert {p.get("tier") for p in props} == {"generic"} and all(p.get("reason") for p in props)


def test_a_reason_never_holds_the_value() -> None:
    for _, _, reason in generic.find("a.env", f"{PW}_PASSWORD={PW}"):
        assert PW not in reason


# ----- formats: a credential in each, and its placeholder or reference twin stays quiet -----

FOUND = [
    ("app/settings.py", f'DATABASE_PASSWORD = "{PW}"'),
    ("src/Main.java", f'    private static final String password = "{PW}";'),
    ("main.go", f'\tpassword := "{PW}"'),
    ("src/client.ts", f"const client = new Client({{ apiKey: '{TOKEN}' }});"),
    ("src/Db.java", f'    new PostgreSQLContainer().withPassword("{PW}");'),
    ("config/app.yml", f"  jwt-secret: {TOKEN}"),
    ("config/app.json", f'  "client_secret": "{TOKEN}",'),
    ("pyproject.toml", f'password = "{PW}"'),
    ("setup.cfg", f"password = {PW}"),
    ("application.properties", f"spring.datasource.password={PW}"),
    (".env", f"POSTGRES_PASSWORD={PW}"),
    ("settings.xml", f"    <password>{PW}</password>"),
    ("context.xml", f'<property name="password" value="{PW}"/>'),
    ("README.md", f"docker run -e MYSQL_PASSWORD={PW} mysql"),
    (".travis.yml", f"  - coveralls --repotoken {TOKEN}"),
    ("run.sh", f"mysql --password {PW} -h db"),
    ("schema.sql", f"CREATE USER app IDENTIFIED BY '{PW}';"),
    ("schema.sql", f"CREATE ROLE app WITH PASSWORD '{PW}';"),
    ("appsettings.json", f'"Db": "Server=db;User Id=sa;Password={PW};"'),
    ("deploy/db.yml", f"url: postgres://app:{PW}@db.internal:5432/app"),
    ("log.txt", f"GET /feed?auth=admin:{PW} 200"),
    ("Dockerfile", f"ENV ADMIN_PASSWORD={PW}"),
]
QUIET = [
    ("app/settings.py", 'DATABASE_PASSWORD = os.environ["DATABASE_PASSWORD"]'),
    ("app/settings.py", "password = get_password()"),
    ("app/settings.py", 'password = os.getenv("DB_PASSWORD", "")'),
    ("src/client.ts", "const apiKey = process.env.API_KEY;"),
    ("config/app.yml", "  password: ${DB_PASSWORD}"),
    ("config/app.yml", "  password: '{{ vault_db_password }}'"),
    ("config/app.yml", "  password: changeme"),
    ("config/app.yml", "  token: <your-token>"),
    ("config/app.yml", "  password: xxxxxxxx"),
    ("config/app.yml", "  password: '***'"),
    ("config/app.yml", '  password: ""'),
    ("config/app.yml", "  password: true"),
    ("config/app.yml", "  secret: 12345678"),
    ("config/app.yml", "  password_file: /run/secrets/db_password"),
    ("config/app.yml", "  credentials: ./service-account.json"),
    ("setup.cfg", "password = %(db_password)s"),
    (".env", "API_TOKEN=$API_TOKEN"),
    ("README.md", "docker run -e MYSQL_PASSWORD=password mysql"),
    ("README.md", "  access_token: my-access-token"),
    ("package.json", '    "jsonwebtoken": "^9.0.3",'),
    ("src/i18n/en.ts", "  forgotPassword: 'Forgot your password?',"),
    ("src/Keys.java", 'public static final String PASSWORD_KEY = "spring.datasource.password";'),
    ("src/User.java", 'String hashed = "{bcrypt}$2a$10$abcdefghijklmnopqrstuu";'),
    ("src/Db.java", 'String url = "jdbc:" + "password=" + password + ";";'),
]


@pytest.mark.parametrize(("path", "line"), FOUND, ids=[str(i) for i in range(len(FOUND))])
def test_each_config_format_is_found_with_a_tier(path: str, line: str) -> None:
    hits = scan_lines(path, [(1, line)])
    assert any(h.tier == "generic" and h.confidence in ("medium", "high") and h.reason for h in hits), hits


@pytest.mark.parametrize(("path", "line"), QUIET, ids=[f"{p}:{i}" for i, (p, _) in enumerate(QUIET)])
def test_placeholders_and_references_are_not_findings(path: str, line: str) -> None:
    hits = [h for h in scan_lines(path, [(1, line)]) if h.confidence != "low"]
    assert hits == []


def test_a_provider_token_is_reported_once_at_the_high_tier() -> None:
    assert _generic("app.py", f'github_token = "{GHP}"') == [("github-token", "high")]


def test_reasons_name_the_key_and_the_format() -> None:
    [(_, _, reason)] = generic.find("deploy/db.yml", f"db_password: {PW}")
    assert reason == "value assigned to `db_password` in YAML"
    [(_, _, reason)] = generic.find("run.sh", f"deploy --repotoken {TOKEN}")
    assert reason == "argument of the `--repotoken` flag in a shell script"


def test_default_pack_documents_the_same_test_paths_as_the_model() -> None:
    assert builtin_policy().secrets.test_paths == list(DEFAULT_TEST_PATHS)
    tiers = builtin_policy().secrets.tiers
    assert (tiers.high.code, tiers.high.tests, tiers.generic.code, tiers.generic.tests) == (
        "block",
        "block",
        "block",
        "step-up",
    )


@pytest.mark.parametrize(
    ("text", "candidate"),
    [
        ("Co-authored-by: Claude <noreply@anthropic.com>", False),  # every agent commit carries one
        ('"author": "Jane Doe <jane@example.com>",', False),
        (f"curl --auth-token {TOKEN}", True),
        (f"auth=deploy:{PW}", True),
        (f"Authorization: Basic {TOKEN}", True),
        (f'oauth_secret = "{TOKEN}"', True),
        ("fix(deps): update module github.com/aws/aws-sdk-go to v1.55.6", False),  # every SDK bump
        (f'AWS_TOKEN = "{TOKEN * 2}"', True),  # detect-secrets' AWS keyword form: a quoted 40
        (f"aws_secret_access_key={TOKEN * 2}", True),
        ("William Martin <williammartin@example.com>", False),  # `iam` was a gate on its own
        (f"IAM_API_KEY: {TOKEN * 2}abcd", True),  # detect-secrets' IBM IAM form: a 44-character value
    ],
)
def test_the_prefilter_skips_author_and_aws_words_but_not_credentials(text: str, candidate: bool) -> None:
    assert (texts_with_candidates(["a clean first text", text]) == [1]) is candidate
