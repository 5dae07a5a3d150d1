"""Every example script runs end to end as a user would start it, with a tiny budget, and prints its JSON summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(script: str, *args: str) -> dict:
    """Run ``examples/<script>`` in a fresh interpreter (as ``python examples/x.py`` would) and parse its last line."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("train_env", ["batched", "minigrid"])
def test_quickstart_compares_teachers_and_writes_plots(tmp_path: Path, train_env: str) -> None:
    # the batched run also passes teacher options through (the previous ALP-GMM default)
    previous_default = {"fit_columns": "alp", "component_lp": "window"}
    flags = (
        ["--minigrid"] if train_env == "minigrid" else ["--teacher-options", json.dumps({"alp_gmm": previous_default})]
    )
    summary = run_example(
        "quickstart.py", "--steps", "2048", "--n-envs", "2", "--no-progress", "--run-root", str(tmp_path), *flags
    )
    assert summary["train_env"] == train_env
    assert [run["teacher"] for run in summary["runs"]] == ["alp_gmm", "random"]
    assert summary["runs"][0]["teacher_options"] == ({} if train_env == "minigrid" else previous_default)
    for run in summary["runs"]:
        assert run["env_steps"] >= 2048 and run["episodes"] > 0
        assert run["test_tasks"] == 20 and run["test_mastered_percent"] in {5.0 * k for k in range(21)}
        assert run["plots"] and all(Path(p).is_file() for p in run["plots"])
        assert (Path(summary["run_dir"]) / run["teacher"] / "checkpoints" / "latest.json").is_file()
    # ALP-GMM also draws its mixture once it has fitted one; the density plot is there for both
    assert any("density_" in p for p in summary["runs"][1]["plots"])


@pytest.mark.parametrize("options", ['{"riac": {}}', '{"alp_gmm": 5}'])
def test_quickstart_refuses_options_for_a_teacher_it_does_not_train(options: str) -> None:
    # options for a teacher that is not trained, or options that are not a mapping of option names
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--teacher-options", options],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--teacher-options must map teachers of --teachers ['alp_gmm', 'random']" in done.stderr


def test_alp_gmm_toy_example(tmp_path: Path) -> None:
    summary = run_example("alp_gmm_toy.py", "--episodes", "600", "--plot-every", "300", "--run-dir", str(tmp_path))
    assert summary["teacher"] == "alp_gmm" and summary["episodes"] == 600
    # 600 episodes master the first cells of the unlock chain, never the whole space
    assert 0.0 < summary["mastered_percent"] < 50.0
    plots = sorted(p.name for p in (tmp_path / "alp_gmm" / "plots").iterdir())
    # ALP-GMM has fitted by episode 300 (its bootstrap is 250), so both plots exist at both marks
    assert plots == ["density_00000300.png", "density_00000600.png", "gmm_00000300.png", "gmm_00000600.png"]


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_stump_tracks_example(tmp_path: Path, algo: str) -> None:
    summary = run_example(
        "alp_gmm_stump_tracks.py",
        "--algo",
        algo,
        "--steps",
        "600",
        "--test-tasks",
        "1",
        "--plot-every",
        "300",
        "--run-root",
        str(tmp_path),
    )
    assert summary["env_steps"] >= 600 and summary["test_tasks"] == 1
    assert summary["teacher"] == "alp_gmm" and summary["algo"] == algo
    assert any(Path(p).name.startswith("density_") for p in summary["plots"])


def test_ued_maze_example(tmp_path: Path) -> None:
    out = tmp_path / "ued.png"
    summary = run_example(
        "ued_maze.py", "--steps", "2048", "--methods", "dr", "accel", "--eval-episodes", "1", "--out", str(out)
    )
    assert out.is_file() and summary["steps"] == 2048
    assert [r["method"] for r in summary["records"]] == ["dr", "accel"]
    for record in summary["records"]:
        assert record["env_steps"] >= 2048 and len(record["per_maze"]) >= 3
        assert 0.0 < record["callback_fraction"] < 1.0
        assert 0.0 <= record["scoring_cpu_fraction"] < 1.0
    assert "robust" in summary["records"][1] and "robust" not in summary["records"][0]  # ACCEL trains RobustPPO


def test_subgoals_keycorridor_example() -> None:
    summary = run_example(
        "subgoals_keycorridor.py",
        "--timesteps",
        "512",
        "--n-envs",
        "2",
        "--eval-episodes",
        "1",
        "--variants",
        "ppo",
        "oracle",
        "--task-teacher",
        "plr",
    )
    assert [run["variant"] for run in summary["runs"]] == ["ppo", "oracle"]
    assert summary["runs"][0]["teacher"] == {}  # plain PPO: no reward teacher
    assert summary["runs"][1]["teacher"]["tasks_annotated"] > 0  # the oracle annotated the levels PLR chose
