"""CI configuration read as data: jobs (jobs.py) from GitHub workflows and actions (github.py)
and GitLab CI (gitlab.py), release steps (release_steps.py) and manifest versions (versions.py).
Parsers only: doors and checks both import them; they import neither."""
