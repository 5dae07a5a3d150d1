"""Quick start: a curriculum teacher trains a PPO student on a MiniGrid family, then the student is tested.

The task space is the room size (5..11) and the number of wall obstacles (0..15) of ``Curricula/ObstacleGrid-v0``.
The teacher picks the task of every episode; the student never sees the task, only its 7x7 egocentric view.
At the end the student plays every task of a fixed grid test set (deterministic policy) and we print the
percentage of test tasks it solves.

    python examples/quickstart.py                      # Random teacher, 300k steps: about 70 s on 2 cores
    python examples/quickstart.py --teacher alp_gmm    # any registered teacher
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the Curricula/* env ids
import teachers  # noqa: F401 - registers the built-in teachers
from agents import make_student
from curricula import CurriculumCallback, TaskEnv, make_teacher, registered_teachers
from curricula.checkpoint import CheckpointCallback, make_run_dir
from curricula.evaluation import TestSet, evaluate

ENV_ID = "Curricula/ObstacleGrid-v0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="random", choices=sorted(registered_teachers()))
    parser.add_argument("--steps", type=int, default=300_000, help="env steps of training")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-root", default="runs")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    # 1. The environment family and its task space (room size x obstacle count).
    def make_env() -> TaskEnv:
        return TaskEnv(gym.make(ENV_ID))

    train_env = DummyVecEnv([make_env for _ in range(args.n_envs)])
    task_space = train_env.env_method("get_wrapper_attr", "task_space", indices=[0])[0]

    # 2. The teacher lives here, in the learner process; the callback carries its tasks to the envs.
    teacher = make_teacher(args.teacher, task_space, seed=args.seed)
    curriculum = CurriculumCallback(teacher)

    # 3. The student: PPO with an MLP over the 7x7x3 symbolic view (the fastest student on 2 CPU cores).
    student = make_student("ppo", train_env, seed=args.seed, policy="MlpPolicy")

    # 4. Train; the run directory gets TensorBoard logs and a final checkpoint (model + teacher state).
    run_dir = make_run_dir(args.run_root, f"quickstart-{args.teacher}-s{args.seed}-{time.strftime('%H%M%S')}")
    from stable_baselines3.common.logger import configure

    student.set_logger(configure(str(run_dir / "logs"), ["csv", "tensorboard"]))
    start = time.perf_counter()
    student.learn(
        args.steps,
        callback=CallbackList([curriculum, CheckpointCallback(run_dir, curriculum, save_freq=args.steps + 1)]),
        progress_bar=not args.no_progress,
    )
    wall = time.perf_counter() - start

    # 5. Test: every size x {0, 5, 10, 15} obstacles, one deterministic episode each.
    test_set = TestSet.grid(task_space, [7, 4])
    report = evaluate(student, make_env(), test_set)
    summary = {
        "teacher": args.teacher,
        "env_steps": student.num_timesteps,
        "episodes": curriculum.episodes_reported,
        "wall_time_s": round(wall, 1),
        "test_tasks": len(test_set),
        "test_mastered_percent": round(report.mastered_percent, 1),
        "run_dir": str(run_dir),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{args.teacher} teacher: solved {report.mastered_percent:.1f}% of {len(test_set)} test tasks")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
