"""The GitLab door: CI pipeline variables in, MR notes and commit statuses out."""
