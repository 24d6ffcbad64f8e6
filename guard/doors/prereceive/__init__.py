"""The pre-receive door: a push on the server, judged ref by ref inside a time budget."""
