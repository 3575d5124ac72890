"""Only console/app.py may import textual; the CLI stays light so --help and the first frame are fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NO_TEXTUAL = ["console.config", "console.poller", "console.sources", "console.maintenance", "console.sim",
              "console.cli", "console.demo", "console.logs", "console.paths"]
HEAVY = ["textual", "docker", "proxmoxer", "aiohttp", "asyncssh", "requests", "rich", "cryptography"]


def loaded_after_import(modules: list[str]) -> set[str]:
    code = (f"import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            f"print(json.dumps(sorted({{n.split('.')[0] for n in sys.modules}})))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_data_layer_does_not_import_textual():
    assert "textual" not in loaded_after_import(NO_TEXTUAL)


def test_cli_imports_no_heavy_library():
    loaded = loaded_after_import(["console.cli"])
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_runs_without_heavy_libraries():
    code = ("import sys\nfrom console.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', sorted(set({HEAVY!r}) & {{n.split('.')[0] for n in sys.modules}}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "usage: labconsole" in result.stdout
    assert "LOADED []" in result.stdout
