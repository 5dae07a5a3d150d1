"""PPO on the batched grids, CPU against GPU: one prepared script for a GPU machine (also runs on CPU).

For each env count (64, 256, 1024), student network (the grid CNN ``agents.MinigridCNN`` and an MLP) and device
(CPU; CUDA when present) it trains PPO (``agents.make_student`` defaults, ``n_steps`` 64) on the batched
``Curricula/MazeLarge-v0`` with its state on that device, and reports training steps/s. Per device and env count it
also measures the env alone: steps/s with observations left on the device (``step_tensors``) and with the host copy
that SB3 needs (``step``), so the cost of that round trip is stated. Results are written after every measurement
(a run cut short keeps what it measured) to ``--out`` (default ``$OUT/gpu.json`` when ``$OUT`` is set, else
``gpu.json``), and the script stops starting new measurements after ``--max-seconds``.

    python benchmarks/gpu.py --max-seconds 480          # on the GPU machine
    python benchmarks/gpu.py --quick --out /tmp/g.json  # CPU smoke run (the test suite runs this)

The last line is JSON (the same as the file).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

import envs  # noqa: F401 - registers the ids
import teachers  # noqa: F401 - registers the teachers
from agents import make_student
from curricula import CurriculumCallback, make_teacher
from envs.batched_grid import make_batched_env


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def env_only(env_id: str, n_envs: int, device: str, steps: int) -> dict[str, float]:
    """Env steps/s with observations kept on the device and with SB3's host copy (random actions)."""
    venv = make_batched_env(env_id, n_envs, device=device, seed=0)
    venv.reset()
    actions = torch.randint(0, 3, (steps, n_envs), device=device)
    _sync(device)
    started = time.perf_counter()
    for row in actions:
        venv.step_tensors(row)
    _sync(device)
    on_device = steps * n_envs / (time.perf_counter() - started)
    host_actions = actions.cpu().numpy()
    venv.reset()
    started = time.perf_counter()
    for row in host_actions:
        venv.step(row)
    with_host_copy = steps * n_envs / (time.perf_counter() - started)
    return {"on_device": on_device, "with_host_copy": with_host_copy, "host_copy_cost": 1 - with_host_copy / on_device}


def ppo(env_id: str, n_envs: int, device: str, policy: str, rollouts: int, n_steps: int) -> dict[str, float]:
    """PPO training steps/s (rollouts and updates, curriculum callback with a Random teacher), after one warm-up
    rollout that is not timed."""
    venv = make_batched_env(env_id, n_envs, device=device, seed=0)
    teacher = make_teacher("random", venv.task_space, seed=0)
    student = make_student("ppo", venv, seed=0, policy=policy, device=device, n_steps=n_steps)
    callback = CurriculumCallback(teacher)
    student.learn(n_envs * n_steps, callback=callback)
    _sync(device)
    started = time.perf_counter()
    student.learn(n_envs * n_steps * rollouts, callback=callback, reset_num_timesteps=False)
    _sync(device)
    seconds = time.perf_counter() - started
    return {"steps_per_s": n_envs * n_steps * rollouts / seconds, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny CPU run (8 and 16 envs, one rollout each)")
    parser.add_argument("--env-id", default="Curricula/MazeLarge-v0")
    parser.add_argument("--n-envs", type=int, nargs="+", default=None, help="default 64 256 1024 (quick: 8 16)")
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda when available")
    parser.add_argument("--rollouts", type=int, default=None, help="timed rollouts per configuration (default 2)")
    parser.add_argument("--max-seconds", type=float, default=480.0, help="start no new measurement after this")
    default_out = Path(os.environ["OUT"]) / "gpu.json" if os.environ.get("OUT") else Path("gpu.json")
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    started = time.perf_counter()
    n_envs_list = args.n_envs or ([8, 16] if args.quick else [64, 256, 1024])
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() and not args.quick else ["cpu"])
    rollouts = args.rollouts or (1 if args.quick else 2)
    n_steps = 8 if args.quick else 64
    env_steps = 20 if args.quick else 300
    result: dict[str, Any] = {
        "env_id": args.env_id,
        "torch": torch.__version__,
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_count": os.cpu_count(),
        "torch_threads": 1,
        "n_steps": n_steps,
        "rollouts_timed": rollouts,
        "env": [],
        "ppo": [],
        "skipped": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        result["wall_seconds"] = round(time.perf_counter() - started, 1)
        args.out.write_text(json.dumps(result, indent=1))

    def time_left() -> bool:
        return time.perf_counter() - started < args.max_seconds

    # the env alone first (cheap), then PPO, smallest env counts first, so a cut run keeps the broadest picture
    for n_envs in n_envs_list:
        for device in devices:
            if not time_left():
                result["skipped"].append({"what": "env", "n_envs": n_envs, "device": device})
                continue
            row = {"n_envs": n_envs, "device": device, **env_only(args.env_id, n_envs, device, env_steps)}
            result["env"].append(row)
            print(json.dumps(row), flush=True)
            save()
    for n_envs in n_envs_list:
        for policy in ("cnn", "MlpPolicy"):
            for device in devices:
                if not time_left():
                    result["skipped"].append({"what": "ppo", "n_envs": n_envs, "policy": policy, "device": device})
                    continue
                row = {"n_envs": n_envs, "policy": policy, "device": device,
                       **ppo(args.env_id, n_envs, device, policy, rollouts, n_steps)}  # fmt: skip
                result["ppo"].append(row)
                print(json.dumps(row), flush=True)
                save()
    by_key = {(r["n_envs"], r["policy"], r["device"]): r["steps_per_s"] for r in result["ppo"]}
    result["gpu_speedup"] = {
        f"{policy}@{n}": round(by_key[(n, policy, "cuda")] / by_key[(n, policy, "cpu")], 2)
        for (n, policy, device) in by_key
        if device == "cuda" and (n, policy, "cpu") in by_key
    }
    save()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
