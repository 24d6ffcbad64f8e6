"""The GitHub door: Actions events in, check runs, statuses and comments out; `serve` (the App)."""
