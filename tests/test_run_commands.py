"""A run directory from the command line: train, eval, plot, then resume exactly where the checkpoint left off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from curricula.checkpoint import latest_checkpoint
from curricula.cli import main
from curricula.experiment import resume_experiment
from curricula.serialization import load_state


def _last_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _same_state(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return bool(a == b)


class TeacherStateAtStart(BaseCallback):
    """Records the teacher's state when the resumed training starts (before any new episode)."""

    def __init__(self) -> None:
        super().__init__()
        self.state: dict[str, Any] | None = None
        self.start_timesteps = -1

    def _on_training_start(self) -> None:
        curriculum = self.locals["callback"].callbacks[0]
        self.state = curriculum.teacher.state_dict()
        self.start_timesteps = int(self.model.num_timesteps)

    def _on_step(self) -> bool:
        return True


def test_train_eval_plot_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = [
        "train",
        "--env-id",
        "Curricula/Toy-v0",
        "--teacher",
        "alp_gmm",
        "--teacher-kwargs",
        '{"bootstrap": 8, "fit_rate": 8}',
        "--total-timesteps",
        "1024",
        "--n-envs",
        "2",
        "--student-kwargs",
        '{"n_steps": 128}',
        "--test-set",
        "grid:2",
        "--eval-freq",
        "512",
        "--run-root",
        str(tmp_path),
        "--run-name",
        "run",
    ]
    assert main(train) == 0
    first = _last_json(capsys)
    run_dir = tmp_path / "run"
    assert first["env_steps"] == 1024

    assert main(["eval", str(run_dir), "--test-set", "grid:3"]) == 0
    report = _last_json(capsys)
    assert report["test_set"] == "grid" and len(report["successes"]) == 9

    assert main(["plot", str(run_dir)]) == 0
    plots = [Path(p).name for p in _last_json(capsys)["plots"]]
    assert any(p.startswith("density_") for p in plots) and any(p.startswith("gmm_") for p in plots)
    assert "test_mastery.png" in plots and "train_return.png" in plots

    assert main(["train", "--resume", str(run_dir), "--total-timesteps", "1536"]) == 0
    resumed = _last_json(capsys)
    assert resumed["env_steps"] == 1536 and resumed["episodes"] > first["episodes"]

    saved = load_state(latest_checkpoint(run_dir) / "teacher.npz")
    probe = TeacherStateAtStart()
    result = resume_experiment(run_dir, total_timesteps=2048, extra_callbacks=[probe])
    assert probe.start_timesteps == 1536 and result.env_steps == 2048
    assert probe.state is not None and _same_state(probe.state, saved)
    steps = [json.loads(line)["timesteps"] for line in (run_dir / "eval.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 2048


def test_bad_run_dirs_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["eval", str(tmp_path)], ["plot", str(tmp_path)], ["train", "--resume", str(tmp_path)]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert "is not a run directory" in capsys.readouterr().err
