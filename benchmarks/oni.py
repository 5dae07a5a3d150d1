"""ONI: does the LLM ever block stepping, and does ONI help PPO on a sparse MiniGrid task?

1. ``fps_ratio``: steps/s of PPO + ONI (retrieval, the **real embedded LLM server** labelling captions in the
   background) over steps/s of plain PPO, measured in the same process, one after the other, in alternating order
   (ppo, oni, oni, ppo, ...), same env, seed and budget. Target >= 0.9: the annotator is asynchronous, so only
   ONI's own bookkeeping (and the server competing for the CPU while it labels) costs steps/s.
2. Success of PPO + ONI (noisy oracle: the env's helpfulness ground truth, labels flipped with probability 0.1)
   vs PPO on ``Curricula/DoorKey-5x5-v0``, success = the share of solved episodes in the last quarter of training,
   over several seeds at a stated budget; plus one run with the embedded LLM as annotator (a pipeline check: a
   270M base model's labels are not judgement).

    python benchmarks/oni.py --quick     # < 1 min on an idle 2-core machine: 2k-step runs (pipeline only)
    python benchmarks/oni.py             # 2 x 2 x 20k-step fps runs; 3 seeds x 40k steps per variant (~10 min)

The last line is JSON with ``fps_ratio`` and each variant's success.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from oni_minigrid import run_variant

from curricula.llm import EmbeddedLLMServer


def measure_fps(server: EmbeddedLLMServer, env_id: str, timesteps: int, pairs: int) -> dict[str, Any]:
    """Plain PPO and PPO + ONI(real LLM), alternated ``pairs`` times each way; summed steps over summed seconds."""
    seconds = {"ppo": 0.0, "oni-llm": 0.0}
    steps = {"ppo": 0, "oni-llm": 0}
    llm_labels = []
    for k in range(2 * pairs):
        order = ("ppo", "oni-llm") if k % 2 == 0 else ("oni-llm", "ppo")
        for variant in order:
            row = run_variant(variant, env_id=env_id, seed=0, timesteps=timesteps, llm_base_url=server.base_url)
            seconds[variant] += row["seconds"]
            steps[variant] += row["timesteps"]
            if variant == "oni-llm":
                llm_labels.append(row["oni"]["labels"])
    fps = {v: steps[v] / seconds[v] for v in seconds}
    return {
        "fps_ppo": round(fps["ppo"], 1),
        "fps_oni_llm": round(fps["oni-llm"], 1),
        "fps_ratio": round(fps["oni-llm"] / fps["ppo"], 3),
        "llm_labels_per_run": llm_labels,
        "timesteps_per_run": timesteps,
        "runs_per_variant": 2 * pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--env-id", default="Curricula/DoorKey-5x5-v0")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, default=None, help="budget per success run (default 40k; 2k quick)")
    parser.add_argument("--variants", nargs="+", default=["ppo", "oni-retrieval"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    budget = args.timesteps or (2048 if args.quick else 40_000)
    fps_steps, fps_pairs = (2048, 1) if args.quick else (20_000, 2)
    started = time.perf_counter()

    with EmbeddedLLMServer() as server:
        fps = measure_fps(server, args.env_id, fps_steps, fps_pairs)
        print(
            f"steps/s  ppo {fps['fps_ppo']:8.1f}   ppo+oni(llm) {fps['fps_oni_llm']:8.1f}   ratio {fps['fps_ratio']:.3f}"
        )
        rows = []
        for seed in args.seeds:
            for variant in args.variants:
                rows.append(run_variant(variant, env_id=args.env_id, seed=seed, timesteps=budget))
        llm_row = run_variant(
            "oni-llm", env_id=args.env_id, seed=args.seeds[0], timesteps=budget, llm_base_url=server.base_url
        )

    success = {}
    print(f"\nsuccess on {args.env_id}, {budget} steps per run, last quarter of training episodes:")
    print(f"{'variant':>16} " + " ".join(f"seed {s:>3}" for s in args.seeds) + "     mean   steps/s")
    for variant in args.variants:
        mine = [r for r in rows if r["variant"] == variant]
        values = [r["success_last_quarter"] for r in mine]
        success[variant] = round(float(np.mean(values)), 3)
        cells = " ".join(f"{v:8.2f}" for v in values)
        print(f"{variant:>16} {cells} {np.mean(values):8.2f} {np.mean([r['fps'] for r in mine]):9.0f}")
    success["oni-llm (1 seed)"] = round(llm_row["success_last_quarter"], 3)
    print(f"{'oni-llm':>16} {llm_row['success_last_quarter']:8.2f} (seed {args.seeds[0]}; labels {llm_row['oni']})")
    result = {
        "benchmark": "oni",
        "env_id": args.env_id,
        "quick": args.quick,
        **fps,
        "budget_steps": budget,
        "seeds": args.seeds,
        "success": success,
        "per_run": [
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k != "oni"} for r in rows
        ],
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
