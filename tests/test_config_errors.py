"""32 malformed configs and overrides through the real command line: one line naming the field, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curricula.cli import main

BASE = ["train", "--total-timesteps", "64", "--n-envs", "2", "--env-id", "Curricula/Toy-v0", "--test-set", "grid:2"]
MAZE = ["--env-id", "Curricula/Maze-v0", "--test-set", "uniform:2"]
KEYCORRIDOR = ["--env-id", "Curricula/KeyCorridorS3R3-v0", "--test-set", "uniform:2"]

# (extra argv, the words the one-line error must contain: the field's path, and what is wrong or allowed)
CASES: list[tuple[list[str], list[str]]] = [
    # top-level fields
    (['total_timesteps="abc"'], ["total_timesteps", "valid integer", "'abc'"]),
    (["--n-envs", "0"], ["n_envs must be >= 1"]),
    (["seed=-1"], ["seed must be >= 0"]),
    (['vec_env="threads"'], ["vec_env must be one of", "threads"]),
    (["--vec-env", "batched"], ["env_id: 'Curricula/Toy-v0' has no batched version", "Curricula/Maze-v0"]),
    (["--vec-env", "batched", *MAZE, "env_kwargs.max_steps_per_cell=3"], ["env_kwargs: not supported", "batched"]),
    (["colour=1"], ["unknown config keys ['colour']"]),
    (['success_threshold="high"'], ["success_threshold", "valid number", "'high'"]),
    (['imports="my_envs"'], ["imports", "valid list"]),
    (["--teacher", "nope"], ["teacher: unknown teacher 'nope'", "random"]),
    (["--env-id", "Nope-v0"], ["env_id: unknown env 'Nope-v0'"]),
    (["--algo", "trpo"], ["algo: unknown algo 'trpo'", "ppo"]),
    (["--test-set", "grid:x"], ["test_set", "grid:x"]),
    (["--import", "no_such_module"], ["imports: cannot import module 'no_such_module'"]),
    # teacher options
    (["--teacher", "alp_gmm", 'teacher_kwargs.fit_rate="abc"'], ["teacher_kwargs.fit_rate", "valid integer", "int"]),
    (["--teacher", "alp_gmm", "teacher_kwargs.nope=1"], ["teacher_kwargs.nope: unknown option", "fit_rate"]),
    (["--teacher", "alp_gmm", "teacher_kwargs.fit_rate=0"], ["teacher_kwargs.fit_rate", "fit_rate must be >= 2"]),
    (["--teacher", "alp_gmm", "teacher_kwargs.random_task_ratio=1.5"], ["teacher_kwargs.random_task_ratio", "[0, 1]"]),
    (["--teacher", "alp_gmm", 'teacher_kwargs.preset="huge"'], ["teacher_kwargs.preset: unknown preset 'huge'"]),
    (["--teacher", "covar_gmm", 'teacher_kwargs.absolute_lp="yes"'], ["teacher_kwargs.absolute_lp", "boolean"]),
    (["--teacher", "riac", "teacher_kwargs.max_region_size=0"], ["teacher_kwargs.max_region_size", ">= 4"]),
    ([*MAZE, "--teacher", "plr", "teacher_kwargs.replay_prob=2.0"], ["teacher_kwargs.replay_prob", "[0, 1]"]),
    ([*MAZE, "--teacher", "plr", 'teacher_kwargs.score="nope"'], ["teacher_kwargs.score", "'pvl'"]),
    # student options
    (['student_kwargs.learning_rate="x"'], ["student_kwargs.learning_rate", "'x'"]),
    (['student_kwargs.gamma="x"'], ["student_kwargs.gamma", "valid number", "float"]),
    (["student_kwargs.n_steps=0"], ["student_kwargs.n_steps", "n_steps must be an int >= 1"]),
    (["student_kwargs.nope=1"], ["student_kwargs.nope: unknown option", "n_steps"]),
    # env options
    (["--env-id", "Curricula/ObstacleGrid-v0", "env_kwargs.max_size=3"], ["env_kwargs.max_size", ">= 5"]),
    (["env_kwargs.nope=1"], ["env_kwargs.nope: unknown option"]),
    # reward teachers
    (['reward_teachers=[{"name": "nope"}]'], ["reward_teachers[0]: unknown reward teacher 'nope'"]),
    ([*KEYCORRIDOR, 'reward_teachers=[{"name": "subgoals"}]'], ["reward_teachers[0].kwargs.env_id: required"]),
    # override syntax
    (["seed"], ["override 'seed'", "KEY=VALUE"]),
]


@pytest.mark.parametrize(("extra", "words"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_a_config_mistake_is_one_line_naming_the_field(
    extra: list[str], words: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*BASE, "--run-root", str(tmp_path), *extra])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]
    assert "Traceback" not in err
    assert last.startswith("curricula: error: "), err
    for word in words:
        assert word in last, f"{word!r} not in {last!r}"
    assert not any(tmp_path.iterdir()), "a config mistake must stop before any run directory is made"


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("bad.json", '{"seed": 1,,}', ["bad.json: invalid JSON at line 1, column 12"]),
        ("bad.yaml", "seed: [1, 2\nteacher: random\n", ["bad.yaml: invalid YAML at line"]),
        ("list.json", "[1, 2]", ["list.json must hold a JSON or YAML object"]),
        ("missing.json", None, ["missing.json does not exist"]),
    ],
)
def test_config_files_that_cannot_be_read(
    name: str, text: str | None, words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--config", str(path)])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    for word in words:
        assert word in last, last


def test_yaml_config_with_overrides_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "env_id: Curricula/Toy-v0\nteacher: alp_gmm\nteacher_kwargs:\n  fit_rate: 50\ntotal_timesteps: 128\n"
        f"n_envs: 2\ntest_set: grid:2\nrun_root: {tmp_path}\nrun_name: yaml\nstudent_kwargs:\n  n_steps: 64\n"
    )
    assert main(["train", "--config", str(path), "seed=4", "teacher_kwargs.random_task_ratio=0.5"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["seed"] == 4 and summary["config"]["teacher_kwargs"] == {"fit_rate": 50, "random_task_ratio": 0.5}


def test_describe_lists_a_teachers_options_defaults_and_presets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teachers", "--describe", "riac"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("riac  (teachers.riac.RIACTeacher, feedback: episode)")
    assert "max_region_size" in out and "int = 200" in out and "presets" in out and "teachmyagent" in out
