from __future__ import annotations

import json
from pathlib import Path

import pytest

from curricula.cli import main
from curricula.experiment import ExperimentConfig


def test_train_from_config_file_writes_a_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {
        "teacher": "random",
        "total_timesteps": 1024,
        "n_envs": 2,
        "test_set": "grid:2",
        "run_root": str(tmp_path),
        "run_name": "tiny",
        "student_kwargs": {"policy": "MlpPolicy", "n_steps": 64},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert main(["train", "--config", str(path), "--seed", "3"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["seed"] == 3 and summary["env_steps"] >= 1024 and summary["episodes"] > 0
    run = tmp_path / "tiny"
    assert json.loads((run / "config.json").read_text())["seed"] == 3
    assert (run / "checkpoints" / "latest.json").exists()
    assert (run / "eval.jsonl").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--teacher", "nope"], "unknown teacher 'nope'"),
        (["train", "--env-id", "Nope-v0"], "unknown env_id"),
        (["train", "--algo", "trpo"], "unknown algo"),
        (["train", "--test-set", "grid:x"], "test_set"),
        (["train", "--n-envs", "0"], "n_envs must be >= 1"),
    ],
)
def test_bad_flags_name_the_field(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_unknown_config_key() -> None:
    with pytest.raises(ValueError, match="unknown config keys \\['colour'\\]"):
        ExperimentConfig.from_dict({"colour": 1})


def test_list_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teachers"]) == 0
    assert "random" in capsys.readouterr().out
    assert main(["envs"]) == 0
    assert "Curricula/ObstacleGrid-v0" in capsys.readouterr().out


def test_sweep_expands_runs_and_aggregates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = {
        "total_timesteps": 256,
        "n_envs": 2,
        "test_set": "grid:2",
        "run_root": str(tmp_path),
        "run_name": "sw",
        "env_id": "Curricula/Toy-v0",
        "student_kwargs": {"n_steps": 64},
    }
    path = tmp_path / "base.json"
    path.write_text(json.dumps(base))
    grid = json.dumps({"teacher": ["random"], "seed": [0, 1]})
    assert main(["sweep", "--config", str(path), "--grid", grid]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["runs"] == 2 and last["groups"][0]["runs"] == 2 and last["groups"][0]["teacher"] == "random"
    assert (tmp_path / "sw" / "teacher=random-seed=1" / "summary.json").exists()


def test_sweep_rejects_unknown_grid_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", "--grid", '{"colour": [1]}'])
    assert "grid key 'colour'" in capsys.readouterr().err


@pytest.mark.slow
def test_sweep_on_ray(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from curricula.sweep import expand_grid, run_sweep

    base = ExperimentConfig(
        env_id="Curricula/Toy-v0", total_timesteps=256, n_envs=2, test_set="grid:2", run_root=str(tmp_path)
    )
    summaries = run_sweep(expand_grid(base, {"seed": [0, 1]}), backend="ray")
    assert [s["seed"] for s in summaries] == [0, 1]
