"""Git, read through the git binary: runner.py (processes, budget), parse.py (log and patch
parsing), catfile.py (blobs), refs.py (names to objects), repo.py (GitRepo: changes to judge)."""
