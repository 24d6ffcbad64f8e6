"""What a CI command does at the release boundary: publish, deploy, or bump-tag-and-push.

Patterns are data: (category, label, regex over a shell line or an action name). A command that
only rehearses (a dry run, a snapshot, a throw-away registry on localhost in a test job) is not a
release boundary.
"""

from __future__ import annotations

import re

from guard.ci.jobs import Command, truthy

# Shell lines. Labels name the tool in findings ("npm publish").
_SHELL: tuple[tuple[str, str, str], ...] = (
    ("publish-step", "twine upload", r"\btwine\s+upload\b"),
    ("publish-step", "poetry publish", r"\bpoetry\s+publish\b"),
    ("publish-step", "flit/hatch/uv/pdm publish", r"\b(flit|hatch|uv|pdm)\s+publish\b"),
    ("publish-step", "npm publish", r"\b(npm|pnpm|yarn)\s+(npm\s+)?publish\b"),
    ("publish-step", "changeset publish", r"\bchangeset\s+publish\b"),
    ("publish-step", "semantic-release", r"\bsemantic-release\b(?!\s+--dry-run)"),
    ("publish-step", "cargo publish", r"\bcargo\s+publish\b"),
    ("publish-step", "gem push", r"\bgem\s+push\b"),
    ("publish-step", "maven deploy", r"\b(mvn|mvnw)\b.*\bdeploy\b"),
    ("publish-step", "gradle publish", r"\bgradlew?\b.*\bpublish\w*\b"),
    ("publish-step", "nuget push", r"\b(dotnet\s+)?nuget\s+push\b"),
    ("publish-step", "docker push", r"\b(docker|podman|buildah)\s+(image\s+)?push\b"),
    ("publish-step", "docker buildx --push", r"\bdocker\s+buildx\s+build\b.*--push\b"),
    ("publish-step", "kaniko", r"/kaniko/executor\b(?!.*--no-push)"),
    ("publish-step", "crane push", r"\bcrane\s+(push|copy|cp|tag|append)\b"),
    (
        "publish-step",
        "ko build",
        r"\bko\s+(build|publish|resolve|apply)\b(?!.*(--push=false|--local|\s-L\b))",
    ),
    (
        "publish-step",
        "goreleaser release",
        r"(^|[;&|]\s*|\s)goreleaser(\s+release)?(?=\s|$)(?!.*--snapshot)(?!.*\b(build|check)\b)",
    ),
    ("publish-step", "helm push", r"\bhelm\s+(push|cm-push)\b"),
    ("publish-step", "chart-releaser", r"\bcr\s+(upload|index)\b"),
    ("publish-step", "gh release", r"\bgh\s+release\s+(create|upload|edit)\b"),
    ("publish-step", "release-cli", r"\brelease-cli\s+create\b"),
    ("publish-step", "vsce/ovsx publish", r"\b(vsce|ovsx)\s+publish\b"),
    ("publish-step", "pod trunk push", r"\bpod\s+trunk\s+push\b"),
    ("publish-step", "hex publish", r"\bmix\s+hex\.publish\b"),
    ("publish-step", "jreleaser", r"\bjreleaser\b.*\b(full-release|release|deploy)\b"),
    (
        "publish-step",
        "upload to package registry",
        r"\bcurl\b.*(/packages/|/uploads|/releases).*(--upload-file|-T\b|--data-binary|-F\b)",
    ),
    (
        "deploy-step",
        "kubectl apply",
        r"\bkubectl\s+(apply|create|replace|rollout|set\s+image|patch|delete)\b",
    ),
    ("deploy-step", "terraform apply", r"\b(terraform|tofu|terragrunt)\s+(apply|destroy|import)\b"),
    ("deploy-step", "helm upgrade", r"\bhelm\s+(upgrade|install|uninstall|rollback)\b"),
    ("deploy-step", "helmfile apply", r"\bhelmfile\b.*\b(apply|sync)\b"),
    (
        "deploy-step",
        "cloud deploy",
        r"\b(gcloud\s+(run|app|functions)\s+deploy|az\s+webapp\s+deploy|firebase\s+deploy"
        r"|fly(ctl)?\s+deploy|vercel\b.*--prod|netlify\s+deploy\b.*--prod|serverless\s+deploy|sls\s+deploy"
        r"|cdk\s+deploy|pulumi\s+up|aws\s+ecs\s+update-service|aws\s+lambda\s+update-function-code"
        r"|aws\s+cloudformation\s+deploy|eb\s+deploy|heroku\s+container:release|kamal\s+deploy|cap\s+production\s+deploy)\b",
    ),
    ("deploy-step", "ansible-playbook", r"\bansible-playbook\b"),
    (
        "tag-push-step",
        "git push of a tag",
        r"\bgit\s+push\b.*(--tags|--follow-tags|\brefs/tags/|\btag\b|\$\{?\w*TAG)",
    ),
    (
        "tag-push-step",
        "version bump and push",
        r"\b(npm\s+version|bump2version|bumpversion|bump-my-version|standard-version"
        r"|release-it|cargo\s+release|poetry\s+version|lerna\s+(version|publish)|mvn\b.*release:(prepare|perform))\b",
    ),
)

# Actions (`uses:`), matched on owner/repo[/path] without the ref.
_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("publish-step", "PyPI publish action", r"^pypa/gh-action-pypi-publish$"),
    (
        "publish-step",
        "GitHub release action",
        r"^(softprops/action-gh-release|ncipollo/release-action"
        r"|actions/create-release|actions/upload-release-asset|svenstaro/upload-release-action)$",
    ),
    ("publish-step", "goreleaser action", r"^goreleaser/goreleaser-action$"),
    ("publish-step", "chart-releaser action", r"^helm/chart-releaser-action$"),
    ("publish-step", "gem release action", r"^rubygems/release-gem$"),
    ("publish-step", "npm publish action", r"^(js-devtools/npm-publish|jS-DevTools/npm-publish)$"),
    ("publish-step", "semantic-release action", r"^cycjimmy/semantic-release-action$"),
    ("publish-step", "cargo release action", r"^katyo/publish-crates$"),
    (
        "deploy-step",
        "Pages deploy",
        r"^(actions/deploy-pages|peaceiris/actions-gh-pages|jamesives/github-pages-deploy-action)$",
    ),
    (
        "deploy-step",
        "cloud deploy action",
        r"^(azure/webapps-deploy|azure/k8s-deploy|aws-actions/amazon-ecs-deploy-task-definition"
        r"|google-github-actions/deploy-cloudrun|google-github-actions/deploy-appengine|superfly/flyctl-actions"
        r"|amondnet/vercel-action|cloudflare/wrangler-action|azure/arm-deploy)$",
    ),
)

_REHEARSAL = re.compile(
    r"--dry-run\b|--dryrun\b|\bdry_run\b|--snapshot\b|--skip-publish\b|\blocalhost\b|127\.0\.0\.1|0\.0\.0\.0|verdaccio"
    r"|--registry[= ]http://(localhost|127)|\bterraform\s+plan\b|--noop\b",
    re.IGNORECASE,
)
_SHELL_RE = tuple((c, label, re.compile(rx)) for c, label, rx in _SHELL)
_ACTION_RE = tuple((c, label, re.compile(rx, re.IGNORECASE)) for c, label, rx in _ACTIONS)


def classify(cmd: Command) -> list[tuple[str, str]]:
    """(category, label) of each release-boundary action this command performs."""
    if _REHEARSAL.search(cmd.text):
        return []
    action = cmd.action
    if action is not None:
        inputs = dict(cmd.with_)
        if any(_REHEARSAL.search(v) for v in inputs.values()) or truthy(inputs.get("dry-run", "")):
            return []
        if action == "docker/build-push-action":
            return (
                [("publish-step", "docker/build-push-action push")] if truthy(inputs.get("push", "")) else []
            )
        if action == "changesets/action":
            return [("publish-step", "changesets publish")] if inputs.get("publish") else []
        return [(c, label) for c, label, rx in _ACTION_RE if rx.search(action)]
    return [(c, label) for c, label, rx in _SHELL_RE if rx.search(cmd.text)]


PROD_ENV = re.compile(r"(^|[^a-z])(prod|production|live|release)([^a-z]|$)", re.IGNORECASE)


def production_like(name: str, tier: str | None) -> bool:
    return tier == "production" or bool(PROD_ENV.search(name))
