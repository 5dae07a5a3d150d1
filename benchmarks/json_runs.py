"""Run a script in a fresh interpreter and read its summary: the JSON object on its last printed line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from typing import Any


def run_json(command: list[str], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``command``; its last stdout line parsed as JSON. A failing run raises with the end of its stderr."""
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary
