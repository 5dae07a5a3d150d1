"""Run directories, atomic checkpoints (model + teacher + curriculum + RNG states) and resume.

A checkpoint is a folder ``checkpoints/step_<n>/`` holding ``model.zip`` (SB3), ``teacher.npz`` (the teacher's
``state_dict``, no pickle), ``curriculum.json`` (tasks in flight per env, counters) and ``rng.npz`` (torch and
NumPy global RNG states). It is written into a temporary folder and renamed into place, then ``latest.json`` is
replaced atomically: a crash never leaves a half-written checkpoint behind ``latest``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from curricula.callback import CurriculumCallback
from curricula.reward_teacher import RewardTeacher
from curricula.serialization import atomic_write, load_state, save_state
from curricula.teacher import Teacher


def make_run_dir(root: str | Path = "runs", name: str | None = None) -> Path:
    """Create ``root/name`` (default: a timestamp) and return it."""
    run = Path(root) / (name or time.strftime("%Y%m%d-%H%M%S"))
    run.mkdir(parents=True, exist_ok=True)
    return run


def _rng_state() -> dict[str, Any]:
    # SB3 draws from the legacy global NumPy RNG (e.g. DQN's epsilon-greedy), so it is part of the state.
    legacy: Any = np.random.get_state()  # noqa: NPY002
    return {
        "torch": torch.get_rng_state().numpy(),
        "numpy_keys": np.asarray(legacy[1]),
        "numpy_meta": [str(legacy[0]), int(legacy[2]), int(legacy[3]), float(legacy[4])],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(torch.from_numpy(np.asarray(state["torch"], dtype=np.uint8)))
    name, pos, has_gauss, cached = state["numpy_meta"]
    np.random.set_state(  # noqa: NPY002
        (name, np.asarray(state["numpy_keys"], dtype=np.uint32), int(pos), int(has_gauss), float(cached))
    )


def save_checkpoint(
    run_dir: str | Path, model: BaseAlgorithm, teacher: Teacher, curriculum: CurriculumCallback
) -> Path:
    """Write a checkpoint of the current training state; returns its folder."""
    checkpoints = Path(run_dir) / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    final = checkpoints / f"step_{model.num_timesteps:012d}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=checkpoints))
    try:
        model.save(tmp / "model.zip")
        save_state(tmp / "teacher.npz", teacher.state_dict())
        for reward_teacher in curriculum.reward_teachers:
            save_state(tmp / f"reward_{reward_teacher.name}.npz", reward_teacher.state_dict())
        save_state(tmp / "rng.npz", _rng_state())
        meta = {
            "num_timesteps": int(model.num_timesteps),
            "algo": type(model).__name__,
            "teacher": teacher.name,
            "reward_teachers": [t.name for t in curriculum.reward_teachers],
            "in_flight": curriculum.in_flight_json(),
            "episodes_reported": curriculum.episodes_reported,
        }
        (tmp / "curriculum.json").write_text(json.dumps(meta))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    pointer = json.dumps({"path": final.name})

    def write_pointer(tmp_path: Path) -> None:
        tmp_path.write_text(pointer)

    atomic_write(checkpoints / "latest.json", write_pointer)
    return final


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model, and the curriculum callback primed to continue exactly."""

    model: BaseAlgorithm
    curriculum: CurriculumCallback
    num_timesteps: int


def latest_checkpoint(run_dir: str | Path) -> Path:
    """The folder ``latest.json`` points to."""
    pointer = Path(run_dir) / "checkpoints" / "latest.json"
    if not pointer.exists():
        raise FileNotFoundError(f"no checkpoint in {run_dir} (missing {pointer})")
    return pointer.parent / json.loads(pointer.read_text())["path"]


def load_checkpoint(
    path: str | Path,
    algo_cls: type[BaseAlgorithm],
    env: Any,
    teacher: Teacher,
    lookahead: int = 1,
    reward_teachers: list[RewardTeacher] | tuple[RewardTeacher, ...] = (),
) -> Checkpoint:
    """Restore a checkpoint into a fresh ``teacher`` and ``env``.

    Continue with ``ckpt.model.learn(n, callback=ckpt.curriculum, reset_num_timesteps=False)``: the envs first
    replay the tasks that were in flight when the checkpoint was written, then the teacher continues from its
    saved state.

    :param path: a checkpoint folder or a run directory (its latest checkpoint is used)
    :param algo_cls: the SB3 algorithm class (e.g. ``PPO``)
    :param env: the training VecEnv (same number of envs as when saved)
    :param teacher: a teacher of the same kind and space as the saved one
    :param lookahead: the curriculum callback's lookahead
    :param reward_teachers: fresh reward teachers of the same kinds, in the same order, as the saved run's
    """
    folder = Path(path)
    if not (folder / "model.zip").exists():
        folder = latest_checkpoint(folder)
    meta = json.loads((folder / "curriculum.json").read_text())
    if meta["teacher"] != teacher.name:
        raise ValueError(f"checkpoint teacher is {meta['teacher']!r}, got a {teacher.name!r} teacher")
    saved_reward = list(meta.get("reward_teachers", []))
    if saved_reward != [t.name for t in reward_teachers]:
        raise ValueError(f"checkpoint reward teachers are {saved_reward}, got {[t.name for t in reward_teachers]}")
    teacher.load_state_dict(load_state(folder / "teacher.npz"))
    for reward_teacher in reward_teachers:
        reward_teacher.load_state_dict(load_state(folder / f"reward_{reward_teacher.name}.npz"))
    _set_rng_state(load_state(folder / "rng.npz"))
    model = algo_cls.load(folder / "model.zip", env=env, device="cpu" if not torch.cuda.is_available() else "auto")
    curriculum = CurriculumCallback(teacher, lookahead=lookahead, reward_teachers=reward_teachers)
    curriculum.episodes_reported = int(meta["episodes_reported"])
    curriculum.resume_with(meta["in_flight"])
    return Checkpoint(model=model, curriculum=curriculum, num_timesteps=int(meta["num_timesteps"]))


class CheckpointCallback(BaseCallback):
    """Save a checkpoint every ``save_freq`` env steps, and at the end of training.

    :param run_dir: the run directory
    :param curriculum: the curriculum callback of this run (its teacher and in-flight tasks are saved)
    :param save_freq: env steps between checkpoints (0: only at the end of training)
    """

    def __init__(self, run_dir: str | Path, curriculum: CurriculumCallback, save_freq: int, verbose: int = 0) -> None:
        super().__init__(verbose)
        if save_freq < 0:
            raise ValueError(f"save_freq must be >= 0 env steps (0: only at the end), got {save_freq}")
        self.run_dir = Path(run_dir)
        self.curriculum = curriculum
        self.save_freq = save_freq
        self._next_save = save_freq

    def _on_step(self) -> bool:
        if self.save_freq > 0 and self.num_timesteps >= self._next_save:
            self._next_save += self.save_freq
            save_checkpoint(self.run_dir, self.model, self.curriculum.teacher, self.curriculum)
        return True

    def _on_training_end(self) -> None:
        save_checkpoint(self.run_dir, self.model, self.curriculum.teacher, self.curriculum)
