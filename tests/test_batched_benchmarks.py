"""The GPU benchmark script runs right on CPU in its quick mode and writes what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_benchmark_quick_mode_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--quick", "--out", str(out), "--max-seconds", "120"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert json.loads(done.stdout.strip().splitlines()[-1]) == result
    assert {(r["n_envs"], r["device"]) for r in result["env"]} == {(8, "cpu"), (16, "cpu")}
    assert {(r["n_envs"], r["policy"]) for r in result["ppo"]} == {
        (n, p) for n in (8, 16) for p in ("cnn", "MlpPolicy")
    }
    assert all(r["steps_per_s"] > 0 for r in result["ppo"]) and not result["skipped"]
    assert all(r["on_device"] > 0 and r["with_host_copy"] > 0 for r in result["env"])
