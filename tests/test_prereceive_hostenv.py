"""Who pushed, as each host tells a pre-receive hook (guard/doors/prereceive/hostenv.py)."""

from __future__ import annotations

from guard.doors.prereceive.hostenv import read_host


def test_ghes_pusher_and_web_merge_author() -> None:
    host = read_host(
        {
            "GITHUB_USER_LOGIN": "alice",
            "GITHUB_PULL_REQUEST_AUTHOR_LOGIN": "Copilot",
            "GITHUB_VIA": "pull request merge button",
        }
    )
    assert host.platform == "ghes" and not host.gitlab
    assert (host.pusher.login, host.pusher.role, host.pusher.verified) == ("alice", "pusher", True)
    assert [(a.login, a.role) for a in host.actors] == [("alice", "pusher"), ("Copilot", "pr-author")]
    assert host.notes == ["GitHub push via pull request merge button"]


def test_gitlab_deploy_key_is_a_bot() -> None:
    host = read_host({"GL_ID": "key-7", "GL_USERNAME": "deployer", "GL_PROTOCOL": "ssh"})
    assert host.gitlab and host.pusher.type == "Bot" and host.pusher.id == "key-7"


def test_gitea_pusher() -> None:
    host = read_host({"GITEA_PUSHER_NAME": "bob", "GITEA_PUSHER_ID": "3", "GITEA_DEPLOY_KEY_ID": "0"})
    assert (host.platform, host.pusher.login, host.pusher.id, host.pusher.type) == (
        "gitea",
        "bob",
        "3",
        "User",
    )


def test_plain_git_pusher_is_verified_only_through_a_configured_variable() -> None:
    assert read_host({"REMOTE_USER": "carol"}, "REMOTE_USER").pusher.verified
    unset = read_host({}, "REMOTE_USER")
    assert not unset.pusher.verified and "REMOTE_USER, which is not set" in unset.notes[0]
    system = read_host({"REMOTE_USER": "carol"})
    assert not system.pusher.verified and system.platform == "plain"


def test_push_options_are_bounded_and_parsed() -> None:
    env = {"GIT_PUSH_OPTION_COUNT": "3", "GIT_PUSH_OPTION_0": "ci.skip"}
    env |= {
        "GIT_PUSH_OPTION_1": "pipeline-guard.approve=",
        "GIT_PUSH_OPTION_2": "pipeline-guard.approve= ok ",
    }
    host = read_host({**env, "GL_USERNAME": "alice"})
    assert host.push_options == ["ci.skip", "pipeline-guard.approve=", "pipeline-guard.approve= ok "]
    assert host.option("pipeline-guard.approve") == "ok"  # the empty one is skipped
    assert read_host({"GIT_PUSH_OPTION_COUNT": "many"}).push_options == []
