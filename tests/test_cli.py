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
        (["train", "--env-id", "Nope-v0"], "env_id: unknown env"),
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


def test_sweep_of_two_teachers_and_two_seeds_on_local_ray_writes_table_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {
        "total_timesteps": 256,
        "n_envs": 2,
        "test_set": "grid:2",
        "run_root": str(tmp_path),
        "run_name": "raysweep",
        "env_id": "Curricula/Toy-v0",
        "eval_freq": 128,
        "student_kwargs": {"n_steps": 64},
    }
    path = tmp_path / "base.json"
    path.write_text(json.dumps(base))
    grid = json.dumps({"teacher": ["random", "alp_gmm"], "seed": [0, 1]})
    assert main(["sweep", "--config", str(path), "--grid", grid, "--backend", "ray"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["runs"] == 4 and sorted(g["teacher"] for g in last["groups"]) == ["alp_gmm", "random"]
    for group in last["groups"]:
        low, high = group["test_mastered_percent_ci95"]
        assert group["runs"] == 2 and low <= group["test_mastered_percent_mean"] <= high
    folder = tmp_path / "raysweep"
    rows = (folder / "results.csv").read_text().splitlines()
    assert rows[0] == "teacher,runs,mean,std,ci95_low,ci95_high" and len(rows) == 3
    assert "| teacher | runs | mean ± std | 95 % CI |" in (folder / "results.md").read_text()
    assert (folder / "learning_curves.png").stat().st_size > 1000


def test_bootstrap_ci_brackets_the_mean_and_is_reproducible() -> None:
    from curricula.sweep import bootstrap_ci

    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    low, high = bootstrap_ci(values)
    assert low < 30.0 < high and (low, high) == bootstrap_ci(values)
    assert bootstrap_ci([5.0]) == (5.0, 5.0)
    assert bootstrap_ci([0.0, 0.0, 0.0]) == (0.0, 0.0)
