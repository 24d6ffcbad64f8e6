"""What the git host tells a pre-receive hook through its environment: who pushed, push options.

Each host sets its own variables for the account it authenticated (verified):
- GitHub Enterprise Server: GITHUB_USER_LOGIN (pusher), GITHUB_PULL_REQUEST_AUTHOR_LOGIN (a merge
  from the web UI), GITHUB_VIA (how: "pull request merge button", "auto-merge"...);
- GitLab server hooks: GL_USERNAME, GL_ID (`user-<n>`, or `key-<n>` for a deploy key), GL_PROTOCOL;
- Gitea/Forgejo: GITEA_PUSHER_NAME, GITEA_PUSHER_ID, GITEA_DEPLOY_KEY_ID;
- plain git: whatever variable the administrator names in `server.pusher_env` (e.g. REMOTE_USER
  behind an authenticating web server). Without one, the pusher is the system user, which names
  nobody in particular (a shared `git` account): recorded as unverified, never a step-up approver.

A client cannot set these variables over git's own transports (push options arrive as
GIT_PUSH_OPTION_<n>, never as arbitrary variables); an ssh server with `AcceptEnv *` could, so such
a set-up must name its variable explicitly.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field

from guard.model import Actor

SOURCE = "pre-receive-env"
APPROVE_OPTION = "pipeline-guard.approve"
MAX_OPTIONS = 64
MAX_REASON = 300


@dataclass
class Host:
    platform: str  # "ghes", "gitlab", "gitea", "plain"
    pusher: Actor
    actors: list[Actor]  # the pusher first, then anyone else the host vouches for
    push_options: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def gitlab(self) -> bool:
        return self.platform == "gitlab"

    def option(self, name: str) -> str | None:
        """The value of `-o <name>=<value>` (the first non-empty one), e.g. the approval's reason."""
        for opt in self.push_options:
            key, eq, value = opt.partition("=")
            if key.strip() == name and eq and value.strip():
                return value.strip()[:MAX_REASON]
        return None


def push_options(env: Mapping[str, str]) -> list[str]:
    try:
        count = min(int(env.get("GIT_PUSH_OPTION_COUNT", "0")), MAX_OPTIONS)
    except ValueError:
        return []
    return [env.get(f"GIT_PUSH_OPTION_{i}", "") for i in range(max(count, 0))]


def _pusher(login: str, *, id: str | None = None, type: str | None = None, verified: bool = True) -> Actor:
    return Actor(
        login=login, role="pusher", source=SOURCE, id=id, type=type, verified=verified and bool(login)
    )


def read_host(env: Mapping[str, str], pusher_env: str | None = None) -> Host:
    """The host's verified pusher (and PR author on a GHES web merge) from the hook's environment."""
    options = push_options(env)
    if env.get("GL_ID") or env.get("GL_USERNAME"):
        gl_id = env.get("GL_ID") or None
        deploy_key = bool(gl_id and gl_id.startswith("key-"))
        p = _pusher(env.get("GL_USERNAME", ""), id=gl_id, type="Bot" if deploy_key else "User")
        notes = [f"GitLab push over {env['GL_PROTOCOL']}"] if env.get("GL_PROTOCOL") else []
        return Host("gitlab", p, [p], options, notes)
    if env.get("GITHUB_USER_LOGIN"):
        p = _pusher(env["GITHUB_USER_LOGIN"], id=env.get("GITHUB_USER_ID") or None)
        actors = [p]
        author = env.get("GITHUB_PULL_REQUEST_AUTHOR_LOGIN")
        if author:
            actors.append(Actor(login=author, role="pr-author", source=SOURCE))
        notes = [f"GitHub push via {env['GITHUB_VIA']}"] if env.get("GITHUB_VIA") else []
        return Host("ghes", p, actors, options, notes)
    if env.get("GITEA_PUSHER_NAME"):
        deploy_key = env.get("GITEA_DEPLOY_KEY_ID", "0") not in ("", "0")
        p = _pusher(
            env["GITEA_PUSHER_NAME"],
            id=env.get("GITEA_PUSHER_ID") or None,
            type="Bot" if deploy_key else "User",
        )
        return Host("gitea", p, [p], options)
    if pusher_env:
        login = env.get(pusher_env, "").strip()
        p = _pusher(login or "(unknown)", verified=bool(login))
        note = (
            []
            if login
            else [f"server.pusher_env names {pusher_env}, which is not set: the pusher is unknown"]
        )
        return Host("plain", p, [p], options, note)
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "(unknown)"
    p = _pusher(user, verified=False)
    unverified = "plain git with no server.pusher_env: the pusher is not verified (system user only)"
    return Host("plain", p, [p], options, [unverified])
