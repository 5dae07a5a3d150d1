"""ALP-GMM on the toy simulated student of the ALP-GMM paper: seconds, no neural network.

The task space is [0, 1]^2 cut into 10x10 cells. A cell's competence grows by one per episode played in it, but
only once a "previous" neighbour is 75 % mastered; the origin cell is always open. A good teacher finds the
moving frontier of learnable cells. We print the % of mastered cells every 1000 episodes and write the sampling
density and the fitted mixture as PNGs.

    python examples/alp_gmm_toy.py                           # improved ALP-GMM, 20k episodes (~20 s)
    python examples/alp_gmm_toy.py --teacher alp_gmm_faithful
    python examples/alp_gmm_toy.py --teacher covar_gmm --episodes 10000
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import teachers  # noqa: F401 - registers the built-in teachers
from curricula import EpisodeResult, make_teacher
from curricula.plotting import save_teacher_plots
from envs.toy import ToyStudent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--teacher", default="alp_gmm", choices=["alp_gmm", "alp_gmm_faithful", "covar_gmm", "riac", "random", "oracle"]
    )
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot-every", type=int, default=5000, help="episodes between PNGs (0: none)")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/alp_gmm_toy"))
    args = parser.parse_args()

    # 1. The simulated student and its task space.
    student = ToyStudent(n_dims=2, n_bins=10)
    space = student.space

    # 2. The teacher. The oracle reads the student's competence grid directly (privileged information).
    extra = {"student": student} if args.teacher == "oracle" else {}
    teacher = make_teacher(args.teacher, space, seed=args.seed, **extra)

    # 3. The loop: the teacher picks a task, the student plays it, the teacher hears the return.
    start = time.perf_counter()
    for episode in range(1, args.episodes + 1):
        task = teacher.sample()
        assert task.params is not None
        ret = student.play(space.to_vector(task.params))
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=ret > 0.75))
        if episode % 1000 == 0:
            print(f"episode {episode:6d}: {student.score():5.1f} % cells mastered  {teacher.scalars()}")
        if args.plot_every and episode % args.plot_every == 0 and hasattr(teacher, "task_history"):
            save_teacher_plots(teacher, space, args.run_dir / args.teacher, episode)

    summary = {
        "teacher": args.teacher,
        "episodes": args.episodes,
        "mastered_percent": student.score(),
        "seconds": round(time.perf_counter() - start, 1),
        "plots": str(args.run_dir / args.teacher / "plots"),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
