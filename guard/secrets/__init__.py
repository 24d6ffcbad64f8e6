"""Secret detection for the `secret` rule kind: detectors, prefilter, redaction and baselines.

The public surface: `redact` (the only form a secret may take outside the scanner),
`scan_lines`/`scan_text` (the engine) and `load_baseline`. The check itself lives in
guard/checks/secrets.py.
"""

from guard.secrets.baseline import load_baseline
from guard.secrets.redact import redact

__all__ = ["load_baseline", "redact"]
