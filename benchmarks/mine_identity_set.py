"""Build tests/data/identity/mined.yml: a hand-labelled sample of real commits from public history.

Provenance script, not part of the guard. It reads bare mirrors made with the `fetch` tool
(`/work/.mirror/<owner>+<name>/repo`), labels every commit with the team's written rules below
(`judge`, independent of guard/ and rules/agents.yml: the label comes from reading the commit's
identities and text, never from running identification), sorts commits into strata (agent forms,
automation bots, plain people, hard negatives) and draws a deterministic round-robin sample from
each repository. Entries whose message carries something secret-shaped (guard's own scanner) are
dropped. Labels were then reviewed by hand; per-commit corrections live in OVERRIDES with a reason.

    python benchmarks/mine_identity_set.py [--mirrors /work/.mirror] [--out tests/data/identity/mined.yml]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from guard.secrets.engine import scan_lines  # noqa: E402

# (repository, commits to draw): mid-size public repositories with heavy, varied agent use.
REPOS: list[tuple[str, int]] = [
    ("Aider-AI/grep-ast", 40),
    ("badlogic/pi-mono", 50),
    ("getsentry/sentry-mcp", 50),
    ("github/spec-kit", 55),
    ("gitleaks/gitleaks", 40),
    ("google/adk-python", 40),
    ("humanlayer/humanlayer", 45),
    ("microsoft/playwright-mcp", 45),
    ("simonw/tools", 45),
    ("openai/openai-agents-js", 45),
    ("anthropics/claude-agent-sdk-python", 45),
    ("steveyegge/beads", 55),
    ("google/virtual-broadcast-production-assistant", 40),
    ("open-learning-exchange/myplanet", 60),
    ("prisma/prisma-examples", 40),
]
# Share of each repository's draw by kind; what a repository lacks goes to the others.
WEIGHTS = {"agent": 0.45, "automation": 0.16, "human": 0.36, "unknown": 0.03}
MAX_MESSAGE = 8000  # longer squash bodies are skipped to keep the data file readable

# AI products as they name themselves in co-author names, assistance trailers and signatures.
# Order matters: the first match names the vendor ("Cursor Grok" is Cursor, "oh-my-codex" is not Codex).
PRODUCTS: list[tuple[str, str]] = [
    (r"oh-my-codex|\bomx\b", "other:oh-my-codex"),
    (r"cursor|\bcomposer\b", "cursor"),
    (r"copilot", "copilot"),
    (r"\bclaude\b|anthropic", "claude-code"),
    (r"codex|chatgpt|\bgpt-?\d|openai", "codex"),
    (r"opencode", "opencode"),
    (r"\bgrok\b", "other:grok"),
    (r"\bkimi\b", "other:kimi"),
    (r"\bdroid\b|factory-droid", "factory"),
    (r"command ?code", "other:command-code"),
    (r"antigravity", "other:antigravity"),
    (r"ibm bob", "other:ibm-bob"),
    (r"hermes agent", "other:hermes-agent"),
    (r"gemini", "gemini"),
    (r"\bamp\b|ampcode", "amp"),
    (r"devin", "devin"),
    (r"jules", "jules"),
    (r"openhands", "openhands"),
    (r"aider", "aider"),
    (r"mistral|\bvibe\b", "other:mistral-vibe"),
    (r"augment", "other:augment"),
    (r"sageox", "other:sageox"),
    (r"sisyphus", "other:sisyphus"),
    (r"junior \(sentry ai|sentry-junior|^junior\[bot\]", "other:sentry-junior"),
    (r"seer-by-sentry|sentry-autofix", "other:seer"),
    (r"ellipsis-dev", "other:ellipsis"),
    (r"happy\.engineering|^happy\b", "other:happy"),
    (r"\bqwen", "other:qwen"),
    (r"kiloconnect|kilo code", "other:kilo"),
    (r"openclaw|clawdbot", "other:openclaw"),
    (r"^pi$", "other:pi"),
    (r"^ai$", "other:ai"),
]
# Addresses and GitHub accounts that are an AI product's own (a person never writes as these).
AI_ADDRESS = re.compile(
    r"noreply@anthropic\.com|claude-code@anthropic\.com|\+claude\[bot\]@"
    r"|\b(198982749|223556219|175728472)\+Copilot@|copilot@github\.com|github\.copilot@github\.com"
    r"|^Copilot Autofix powered by AI <"
    r"|cursoragent@cursor\.com|cursor@cursor\.com|\+cursor\[bot\]@"
    r"|codex@openai\.com|noreply@openai\.com|chatgpt-codex-connector\[bot\]@"
    r"|google-labs-jules(\[bot\])?@|devin-ai-integration\[bot\]@|openhands@all-hands\.dev"
    r"|amp@ampcode\.com|factory-droid\[bot\]@|ellipsis-dev\[bot\]@|sentry-junior\[bot\]@"
    r"|seer-by-sentry\[bot\]@|sentry-autofix\[bot\]@|yesreply@happy\.engineering|noreply@augmentcode\.com"
    r"|ox@sageox\.ai|omx@oh-my-codex\.dev|vibe@mistral\.ai|clio-agent@sisyphuslabs\.ai|noreply@commandcode\.ai"
    r"|qwen\.ai\[bot\]|qwenlm-intl@service\.alibaba\.com|kiloconnect\[bot\]@"
    r"|bot@openclaw\.ai|openclaw-bot@users\.noreply|^clawdbot <"
    r"|^junior\[bot\] <junior\[bot\]@sentry\.io>"
    r"|^gh copilot via|\(aider\) <",
    re.I,
)
# A co-author name that is an AI product even without its address ("Claude Sonnet 4.5 (Anthropic)").
# A name that is an AI product even without its address ("Claude Sonnet 4.5 (Anthropic)", "Claude Code");
# whole-name forms only, so a person called Claude is not one.
AI_NAME = re.compile(
    r"^(claude( code)?|claude[ -](opus|sonnet|haiku|fable|code)\b.*|claude \(.*\)|gpt-?[\d.]+.*"
    r"|(openai )?codex\b.*|(github )?copilot\b.*|cursor( agent)?|gemini( code assist| cli)?|devin( ai)?"
    r"|jules|openhands|grok\b.*|kimi( code)?"
    r"|junior \(sentry ai assistant\))$",
    re.I,
)
# Generated lines, session links and agent trailers (message lines).
BODY: list[tuple[str, str, str]] = [
    (
        r"generated (with|by) \[?claude|generated with assistance from claude code"
        r"|pr created with claude code",
        "claude-code",
        "Claude Code's generated-with footer",
    ),
    (r"^claude-session:", "claude-code", "Claude Code session trailer"),
    (
        r"^(agent-logs-url:\s*https://github\.com/\S+/sessions/|copilot-session:)",
        "copilot",
        "Copilot session trailer",
    ),
    (r"<!-- start copilot coding agent", "copilot", "Copilot coding agent PR footer"),
    (r"^made-with:\s*cursor|cursor\.com/(background-agent|agents)", "cursor", "Cursor trailer or agent link"),
    (
        r"generated with \[devin\]|link to devin run|app\.devin\.ai/sessions",
        "devin",
        "Devin footer or session link",
    ),
    (r"jules\.google\.com/task|pr created automatically by jules", "jules", "Jules task footer"),
    (r"chatgpt\.com/codex/tasks", "codex", "Codex cloud task link"),
    (r"to have autofix iterate on|[?&]seerDrawer=true", "other:seer", "Sentry Seer Autofix PR footer"),
    (
        r"\[view session in sentry\]\(.*gen_ai\.conversation",
        "other:sentry-junior",
        "junior's session footer (a Slack gen_ai conversation), as on sentry-junior[bot]'s commits",
    ),
    (
        r"https://claude\.ai/share/",
        "other:claude-ai claude-code",
        "links the Claude.ai conversation that wrote the change",
    ),
    (
        r"https://chatgpt\.com/share/",
        "other:chatgpt codex",
        "links the ChatGPT conversation that wrote the change",
    ),
    (r"https://gemini\.google\.com/share/", "gemini", "links the Gemini conversation that wrote the change"),
    (r"generated with \[nori\]", "other:nori", "Nori generated-with footer"),
    (r"generated by mistral vibe", "other:mistral-vibe", "Mistral Vibe footer"),
    (r"^# aider chat conversation", "aider", "aider chat transcript"),
    (
        r"^executed-by:\s*\S*(crew/|polecats/|refinery|witness|mayor|deacon)",
        "other:gastown",
        "Gas Town agent worker trailer",
    ),
]
TRAILER = re.compile(
    r"^\s*(co-authored-by|assisted-by|generated-by|agent-signature|ai-assisted|ai-tools)\s*:\s*(.+)$",
    re.I | re.M,
)
# Automation accounts (not agents): exact login or address forms, each with the bot's name.
AUTOMATION: list[tuple[str, str]] = [
    (r"^dependabot(-preview)?\[bot\] <", "dependabot"),
    (r"^renovate\[bot\] <|<bot@renovateapp\.com>", "renovate"),
    (
        r"^github-actions(\[bot\])? <|<actions@github\.com>|^Automated <actions@users\.noreply\.github\.com>",
        "github-actions",
    ),
    (r"^getsentry-bot <bot@(sentry\.io|getsentry\.com)>", "other:getsentry-bot"),
    (r"^copybara-service\[bot\] <|^Copybara-Service <copybara-worker@google\.com>", "other:copybara"),
    (r"^Prismo <prismabots@gmail\.com>", "other:prismo"),
    (r"^ImgBotApp <ImgBotHelp@gmail\.com>", "imgbot"),
]
AI_WORDS = re.compile(
    r"\b(claude|copilot|codex|cursor|gemini|devin|jules|gpt-?\d*|llm|openai|anthropic|ai|agents?|aider|chatgpt|bot)\b",
    re.I,
)
VENDOR_DOMAIN = re.compile(
    r"@(anthropic\.com|openai\.com|google\.com|github\.com|cursor\.com|sentry\.io|[\w.-]+\.ai)>$", re.I
)
PLACEHOLDER = re.compile(
    r"@(localhost|[\w.-]+\.local|[\w.-]+\.test|example\.\w+)>$|<noreply@github\.com>$|^root <", re.I
)
# Gas Town (steveyegge/beads) agent workers write under the owner's address with a role as name.
GASTOWN_NAME = re.compile(
    r"^([a-z_]+|[\w.-]+/[\w./-]+) <(steve\.yegge@gmail\.com|matthew\.baker@pihealth\.ai)>$"
)

# Found by hand while reviewing (long-tail identities, hard negatives): always drawn, on top of the quota.
INCLUDE = {
    "e00750d589ff",  # baudbot-agent
    "83242890eaf6",  # a person whose host is called clawdbot
    "2de4511e9cfa",  # OpenClaw Bot <bot@openclaw.ai>
    "fe623a6a5261",  # OpenClaw Bot <openclaw-bot@users.noreply.github.com>
    "61d9a639270a",  # Clawdbot <clawdbot@localhost>
    "c6c416eab585",
    "73b3b83e972d",
    "c15470ae6cb3",  # ImgBotApp
    "bd7d63967f19",  # junior[bot]@sentry.io with a name-only `Claude (Anthropic)` co-author
}
# Reviewed and left out: a reader can't tell who wrote them.
SKIP = {
    "638059f4d318",  # `Ubuntu <clawdbot@…>`: a default account on an agent's host, person or agent
    "6175abea7a64",  # co-author `cc-vps <…+vps@…>`: the person's own alias or their agent's machine
}

# Hand-review corrections: sha prefix -> (label, vendor, reason).
OVERRIDES: dict[str, tuple[str, str | None, str]] = {
    "127892de015f": (
        "agent",
        "cursor",
        "the subject says the change was made with Cursor (Sonnet 3.7): an assistance claim in prose",
    ),
    "64fab885f1c1": (
        "agent",
        "cursor",
        "the subject says these are Cursor's changes: an assistance claim in prose",
    ),
    "e00750d589ff": (
        "unknown",
        None,
        "an account named as an agent (baudbot-agent), no product or [bot] suffix: the reader can't place it",
    ),
    "83242890eaf6": (
        "human",
        None,
        "a person's name; only the host in the address (clawdbot.lan) names an agent, which is no evidence",
    ),
    "378ef6c8e52f": (
        "unknown",
        None,
        "a service's account (MseeP.ai) adding its own badge: person or automation can't be told",
    ),
}


@dataclass
class Mined:
    repo: str
    sha: str
    author: str
    committer: str
    parents: int
    message: str


def product(text: str) -> str | None:
    for pattern, vendor in PRODUCTS:
        if re.search(pattern, text, re.I):
            return vendor
    return None


def judge(c: Mined) -> tuple[str, str | None, str, str] | None:
    """(label, vendor, reason, stratum) by the team's reading rules, or None when a reader can't tell."""
    found: list[tuple[str, str, str]] = []  # (vendor, reason, form)
    for role, person in (("author", c.author), ("committer", c.committer)):
        if role == "committer" and "(aider) <" in person and "(aider) <" not in c.author:
            continue  # aider committed the person's own edits (aider's attribute-committer mode)
        if AI_ADDRESS.search(person) or AI_NAME.match(person.split("<", 1)[0].strip()):
            found.append(
                (
                    product(person) or "?",
                    f"{role} carries aider's (aider) suffix: aider wrote the change ({person})"
                    if "(aider) <" in person
                    else f"{role} is an AI product's own identity ({person})",
                    f"{role}-identity",
                )
            )
    for key, value in TRAILER.findall(c.message):
        value = value.strip()
        name = value.split("<", 1)[0].strip()
        if (
            AI_ADDRESS.search(value)
            or AI_NAME.match(name)
            or (key.lower() != "co-authored-by" and product(name))
        ):
            vendor = product(value) or "?"
            if key.lower() == "co-authored-by" and not (AI_ADDRESS.search(value) or AI_NAME.match(name)):
                continue
            found.append(
                (vendor, f"{key} trailer names an AI product ({value[:90]})", f"trailer:{key.lower()}")
            )
    lines = c.message.splitlines()
    for pattern, vendor, what in BODY:
        if any(re.search(pattern, line.strip(), re.I) for line in lines):
            found += [(v, what, "body") for v in vendor.split()]
    if re.match(r"aider: ", c.message):
        found.append(("aider", "aider's `aider: ` subject prefix", "subject"))
    if GASTOWN_NAME.match(c.author) and (
        "/" in c.author.split("<")[0] or any(v == "other:gastown" for v, _, _ in found)
    ):
        found.append(("other:gastown", "Gas Town agent worker as author name", "author-identity"))
    if found:
        vendors = list(dict.fromkeys(v for v, _, _ in found))
        if "?" in vendors:
            return None
        # A Gas Town worker runs another product; the product is the vendor when named.
        primary = next((v for v in vendors if v != "other:gastown"), vendors[0])
        form = found[0][2]
        if form.startswith("trailer") and looks_person(c.author):
            form = "person+ai-trailer" + (
                " (squash)" if re.search(r"\(#\d+\)$", c.message.splitlines()[0]) else ""
            )
        reasons = "; ".join(dict.fromkeys(r for _, r, _ in found))
        also = " ".join(v for v in vendors if v != primary)
        # One stratum per form and vendor, so the draw reaches the long tail of products.
        return "agent", f"{primary} {also}".strip(), reasons, f"agent:{form}:{primary}"
    subject = lines[0] if lines else ""
    if (
        re.match(r"github-actions\[bot\] <", c.author)
        and re.search(r"^co-authored-by:(?!.*\[bot\])", c.message, re.I | re.M)
        and not re.search(r"^(chore|release|build|ci)\b|version|bump|merge|translat|changelog", subject, re.I)
    ):
        why = "github-actions[bot] authored a code change with the requesting person as co-author"
        return (
            "unknown",
            None,
            why + " (an agent running in Actions is likely; the commit names none)",
            "unknown:actions-code",
        )
    for pattern, bot in AUTOMATION:
        if re.search(pattern, c.author):
            return (
                "automation",
                bot,
                f"author is the {bot} automation account ({c.author})",
                f"automation:{bot}",
            )
    if re.search(r"\[bot\] <", c.author):
        return (
            "unknown",
            None,
            f"a [bot] app the reader cannot place ({c.author}), no agent markers",
            "unknown:bot",
        )
    if "genai-sdk-bot@google.com" in c.author:
        return (
            "unknown",
            None,
            "Copybara export: the author is a placeholder for a Google team member;"
            " who wrote it is not in the commit",
            "unknown:placeholder",
        )
    if PLACEHOLDER.search(c.author) or GASTOWN_NAME.match(c.author):
        return None  # placeholder or a Gas Town worker without a product named: a reader can't tell
    if not looks_person(c.author) or re.match(r"bd sync: \d{4}-", subject):
        return None  # not a person, or the beads CLI's own sync commit under the person's identity
    first = lines[0] if lines else ""
    if "(aider) <" in c.committer:
        return (
            "human",
            None,
            "aider committed the person's own edits: only the committer carries (aider)",
            "human:aider-committer",
        )
    why = "a person's name and address, no AI product named in an identity, trailer or generated line"
    if re.search(r"co-authored-by:.*(dependabot|renovate|github-actions)", c.message, re.I):
        return (
            "human",
            None,
            why + "; only automation as co-author (a person's squash of a bot PR)",
            "human:bot-coauthor",
        )
    if c.parents > 1:
        return "human", None, why + "; a person's merge", "human:merge"
    if VENDOR_DOMAIN.search(c.author):
        return "human", None, why + "; a person at an AI vendor's or .ai domain", "human:vendor-domain"
    if AI_WORDS.search(c.message):
        return "human", None, why + "; the text mentions AI tools in prose only", "human:prose"
    return "human", None, why, "human:plain" if len(first) > 0 else "human:empty"


def looks_person(person: str) -> bool:
    name = person.split("<", 1)[0].strip()
    return (
        bool(name)
        and not re.search(r"\bbot\b|\[bot\]|robot|automat|github|^ci\b", name, re.I)
        and "@" in person
    )


def read_repo(git_dir: Path, repo: str) -> list[Mined]:
    fmt = "%H%x00%an <%ae>%x00%cn <%ce>%x00%P%x00%B%x1e"
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "log", "--all", f"--format={fmt}"],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "replace")
    commits = []
    for rec in out.split("\x1e"):
        rec = rec.lstrip("\n")
        if not rec:
            continue
        sha, author, committer, parents, message = rec.split("\x00", 4)
        commits.append(Mined(repo, sha, author, committer, len(parents.split()), message.rstrip("\n")))
    return commits


def secret_shaped(message: str) -> bool:
    return bool(scan_lines("commit-message", list(enumerate(message.splitlines(), 1))))


def draw(commits: list[Mined], quota: int) -> list[tuple[Mined, tuple[str, str | None, str, str]]]:
    strata: dict[str, list[tuple[Mined, tuple[str, str | None, str, str]]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    forced: list[tuple[Mined, tuple[str, str | None, str, str]]] = []
    for c in sorted(commits, key=lambda c: hashlib.sha256(c.sha.encode()).hexdigest()):
        key = (c.author, c.message)  # rebased and cherry-picked copies are one commit
        if key in seen or len(c.message) > MAX_MESSAGE or not c.message.strip() or c.sha[:12] in SKIP:
            continue
        seen.add(key)
        verdict = judge(c)
        override = OVERRIDES.get(c.sha[:12])
        if override and verdict and verdict[0] == "agent" and override[0] != "agent":
            print(f"{c.repo}@{c.sha[:12]}: override ignored, the commit names an AI product", file=sys.stderr)
        elif override:
            verdict = (override[0], override[1], override[2], f"{override[0]}:override")
        if verdict is None:
            continue
        if c.sha[:12] in INCLUDE and not secret_shaped(c.message):
            forced.append((c, verdict))
        else:
            strata[verdict[3]].append((c, verdict))
    by_kind: dict[str, list[str]] = defaultdict(list)
    for name in sorted(strata):
        by_kind[name.split(":", 1)[0]].append(name)
    picked = forced
    want = {k: round(quota * w) for k, w in WEIGHTS.items()}
    spare = 0
    for kind in ("unknown", "automation", "agent", "human"):
        n = want[kind] + spare
        names = by_kind.get(kind, [])
        got: list[tuple[Mined, tuple[str, str | None, str, str]]] = []
        i = 0
        while len(got) < n and any(strata[s] for s in names):
            s = names[i % len(names)]
            while strata[s]:
                c, v = strata[s].pop(0)
                if not secret_shaped(c.message):
                    got.append((c, v))
                    break
            i += 1
        spare = n - len(got)
        picked += got
    return picked


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "identity" / "mined.yml")
    args = ap.parse_args()
    entries, heads = [], {}
    for repo, quota in REPOS:
        git_dir = args.mirrors / repo.replace("/", "+") / "repo"
        heads[repo] = subprocess.run(
            ["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for c, (label, vendor, reason, stratum) in draw(read_repo(git_dir, repo), quota):
            vendors = (vendor or "").split()
            e: dict[str, object] = {"cite": f"{repo}@{c.sha[:12]}", "label": label}
            if vendors:
                e["vendor"] = vendors[0]
            if len(vendors) > 1:
                e["also"] = vendors[1:]
            e |= {"stratum": stratum, "reason": reason, "author": c.author}
            if c.committer != c.author:
                e["committer"] = c.committer
            if c.parents != 1:
                e["parents"] = c.parents
            e["message"] = c.message
            entries.append(e)
        print(
            f"{repo}@{heads[repo][:12]}: {sum(str(e['cite']).startswith(repo + '@') for e in entries)}",
            file=sys.stderr,
        )
    head = "\n".join(
        [
            "# Mined labelled commits: MINED.md (provenance), benchmarks/mine_identity_set.py (selection).",
            "# heads:",
        ]
        + [f"#   {r}@{h}" for r, h in heads.items()]
    )
    text = yaml.safe_dump({"commits": entries}, sort_keys=False, allow_unicode=True, width=120)
    args.out.write_text(head + "\n" + text, encoding="utf-8")
    kinds: dict[str, int] = defaultdict(int)
    for e in entries:
        kinds[str(e["label"])] += 1
    print(f"{len(entries)} commits: {dict(kinds)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
