"""The report interface: one format a module, `render(decision, explain=False) -> str`.

Every format renders the engine's already-redacted Decision (guard/redact.py) and escapes what
it quotes from the change for its medium (guard/report/escape.py); titles, levels and order come
from presentation.py. A new format is one module plus one entry in guard/report/__init__.py.
"""

from __future__ import annotations

from typing import Protocol

from guard.model import Decision


class ReportFormat(Protocol):
    def __call__(self, decision: Decision, /, *, explain: bool = False) -> str: ...
