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


def test_env_throughput_quick_mode_reports_every_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "env_throughput.py"), "--quick", "--n-envs", "8", "64"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result["env_speedup"]) == {"8", "64"} and all(r > 0 for r in result["env_speedup"].values())
    assert result["ppo_speedup"] > 0 and result["ppo_speedup_defaults"] > 0
    assert set(result["plr_robust_steps_per_s"]) == {"MlpPolicy/32", "cnn/32", "MlpPolicy/64"}
    # PLR⊥ trains on replayed levels only: some steps, never more than all
    assert all(0.0 < share <= 1.0 for share in result["plr_robust_trained_share"].values())


def test_demo_seeds_runs_the_quick_start_per_seed_and_bootstraps_the_difference() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "demo_seeds.py"), "--seeds", "2", "--steps", "2048",
         "--n-envs", "4"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["seeds"] == 2 and set(result["per_seed"]) == {"alp_gmm", "random"}
    low, high = result["diff_ci"]
    diffs = [a - b for a in result["per_seed"]["alp_gmm"] for b in result["per_seed"]["random"]]
    assert min(diffs) <= low <= result["diff"] <= high <= max(diffs)
    paired = [a - b for a, b in zip(result["per_seed"]["alp_gmm"], result["per_seed"]["random"], strict=True)]
    paired_low, paired_high = result["paired_diff_ci"]
    assert min(paired) <= paired_low <= paired_high <= max(paired)
    assert result["wins"] + result["ties"] <= 2
    assert "| alp_gmm |" in done.stdout and "| random |" in done.stdout


def test_plr_scoring_quick_mode_gives_the_same_buffer_both_ways() -> None:
    """The incremental ranks and a fresh argsort per eviction decision leave the buffer with the same scores."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "plr_scoring.py"), "--quick"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["same_buffer_scores"] is True
    assert set(result["scoring_ms_per_rollout"]) == {"incremental_ranks", "fresh_argsort"}
    assert result["rollout_ms"] > 0 and all(0 < s < 1 for s in result["scoring_share_of_rollout"].values())
