"""pydantic loads plugins from any installed distribution's `pydantic` entry point and lets them
observe and alter validation. The guard validates its own policy: a plugin installed beside it
(a dependency of something else in the same environment) must never run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _plugin_site(site: Path, witness: Path) -> None:
    (site / "evil_plugin.py").write_text(
        f"from pathlib import Path\nPath({str(witness)!r}).write_text('loaded')\n"
        "class Plugin:\n    def new_schema_validator(self, *a, **k):\n        return None, None, None\n"
        "plugin = Plugin()\n"
    )
    info = site / "evil_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evil-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nevil = evil_plugin:plugin\n")


def _run(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_an_installed_pydantic_plugin_never_sees_the_policy(tmp_path: Path) -> None:
    witness = tmp_path / "witness"
    _plugin_site(tmp_path, witness)
    # The stand-in plugin is real to pydantic: without the guard, a model loads it.
    probe = _run(tmp_path, "import pydantic\nclass M(pydantic.BaseModel):\n    x: int = 0\nM()")
    assert probe.returncode == 0, probe.stderr
    assert witness.read_text() == "loaded"
    witness.unlink()
    used = _run(tmp_path, "from guard.policy import builtin_policy\nbuiltin_policy()")
    assert used.returncode == 0, used.stderr
    assert not witness.exists()
