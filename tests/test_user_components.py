"""A newcomer's own env and teacher, from their own folder: the docs pages' code, run exactly as printed.

The pages docs/write_your_own_env.md and docs/write_your_own_teacher.md hold the user's modules (```python
file=NAME blocks) and the commands to run (```bash blocks). This test writes the modules into a temporary folder
outside the repository and runs every command there with the project's environment on PATH, so a page that
stops working fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "docs" / "write_your_own_env.md", ROOT / "docs" / "write_your_own_teacher.md"]
BLOCK = re.compile(r"```(python file=(?P<file>\S+)|bash)\n(?P<body>.*?)```", re.DOTALL)


def page_blocks(page: Path) -> tuple[dict[str, str], list[str]]:
    """The files (name -> source) and the shell commands of a page, in order."""
    files: dict[str, str] = {}
    commands: list[str] = []
    for match in BLOCK.finditer(page.read_text()):
        if match.group("file"):
            files[match.group("file")] = match.group("body")
        else:
            commands.extend(line for line in match.group("body").splitlines() if line.strip())
    return files, commands


def run_in(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(command, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("newcomer")
    assert ROOT not in folder.parents
    commands: list[str] = []
    for page in PAGES:
        files, page_commands = page_blocks(page)
        for name, source in files.items():
            (folder / name).write_text(source)
        commands.extend(page_commands)
    return folder, commands


def test_pages_hold_the_modules_and_commands(user_folder: tuple[Path, list[str]]) -> None:
    folder, commands = user_folder
    assert {p.name for p in folder.iterdir()} >= {"my_envs.py", "my_teachers.py", "train_cartpole.py"}
    assert any(c.startswith("curricula check --import my_envs") for c in commands)
    assert any(c.startswith("curricula check --import my_teachers") for c in commands)
    assert sum(c.startswith("curricula train --import") for c in commands) == 2
    teacher_source = (folder / "my_teachers.py").read_text()
    teacher_class = teacher_source[teacher_source.index("@register_teacher") :]
    assert len(teacher_class.splitlines()) <= 42, "the example teacher should stay about 40 lines"


def test_every_command_of_the_pages_runs(user_folder: tuple[Path, list[str]]) -> None:
    folder, commands = user_folder
    for command in commands:
        done = run_in(folder, command)
        assert done.returncode == 0, f"{command}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        out = done.stdout
        if command.startswith("curricula check"):
            assert re.search(r"^\d+ passed, 0 failed$", out, re.MULTILINE), out
            assert "FAIL" not in out
            component = "env Newcomer/TaskCartPole-v0" if "my_envs" in command else "teacher goldilocks"
            assert f"PASS {component}: " in out, out
            assert "Curricula/" not in out and "teacher random" not in out, "only the user's components are checked"
        elif command.startswith("curricula train"):
            summary = json.loads(out.strip().splitlines()[-1])
            assert summary["env_id"] == "Newcomer/TaskCartPole-v0" and summary["env_steps"] >= 4096
            assert summary["episodes"] > 0 and 0.0 <= summary["test_mastered_percent"] <= 100.0
            run_dir = folder / "runs" / summary["config"]["run_name"]
            assert (run_dir / "checkpoints" / "latest.json").exists()
            evaluations = (run_dir / "eval.jsonl").read_text().splitlines()
            assert len(evaluations) == 1 and len(json.loads(evaluations[0])["successes"]) == 9
        elif command.startswith("python train_cartpole.py"):
            assert re.search(r"balanced on \d+% of the 9 test tasks", out), out


def test_user_components_are_listed(user_folder: tuple[Path, list[str]]) -> None:
    folder, _ = user_folder
    envs = run_in(folder, "curricula envs --import my_envs")
    assert envs.returncode == 0, envs.stderr
    assert "Newcomer/TaskCartPole-v0" in envs.stdout.split() and "Curricula/Maze-v0" in envs.stdout.split()
    teachers = run_in(folder, "curricula teachers --import my_teachers")
    assert teachers.returncode == 0, teachers.stderr
    assert re.search(r"^goldilocks\s+my_teachers\.GoldilocksTeacher", teachers.stdout, re.MULTILINE), teachers.stdout
    assert "alp_gmm" in teachers.stdout


def test_module_colon_env_id_and_subprocess_envs(user_folder: tuple[Path, list[str]]) -> None:
    folder, _ = user_folder
    done = run_in(
        folder,
        "curricula train --env-id my_envs:Newcomer/TaskCartPole-v0 --vec-env subproc --n-envs 2 "
        "--total-timesteps 512 --test-set grid:2 --run-name colon --student-kwargs '{\"n_steps\": 128}'",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["env_steps"] >= 512


def test_a_missing_user_module_is_one_clear_line(user_folder: tuple[Path, list[str]]) -> None:
    folder, _ = user_folder
    done = run_in(folder, "curricula train --import no_such_module")
    assert done.returncode == 2
    assert "cannot import module 'no_such_module'" in done.stderr and "Traceback" not in done.stderr


def test_a_local_envs_folder_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "__init__.py").write_text("")
    (tmp_path / "script.py").write_text("import curricula\n")
    done = run_in(tmp_path, "python script.py")
    assert done.returncode != 0
    assert f"hidden by {tmp_path / 'envs'}" in done.stderr and "Rename yours" in done.stderr


BROKEN_TEACHER = '''
from curricula import EpisodeResult, Task, Teacher, register_teacher


@register_teacher("always_first_corner")
class AlwaysFirstCorner(Teacher):
    """Ignores its RNG: every seed gives the same samples, which the contract must catch."""

    def _sample(self) -> Task:
        if hasattr(self.space, "dims"):
            return self._new_task(params={d.name: d.low for d in self.space.dims})
        return self._new_task(level={"cells": [0, 0, 0, 0]})

    def _update(self, result: EpisodeResult) -> None:
        return
'''


def test_check_reports_a_broken_teacher_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from curricula.cli import main

    (tmp_path / "broken_teacher.py").write_text(BROKEN_TEACHER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check", "--import", "broken_teacher"]) == 1
    out = capsys.readouterr().out
    assert "FAIL teacher always_first_corner: same_seed_same_feedback_same_samples -- AssertionError" in out
    assert "the seed must matter" in out
    assert "PASS teacher always_first_corner: state_round_trip_gives_identical_next_samples" in out
    assert re.search(r"^7 passed, 1 failed$", out, re.MULTILINE)


def test_check_with_named_components(capsys: pytest.CaptureFixture[str]) -> None:
    from curricula.cli import main

    assert main(["check", "--env", "Curricula/Toy-v0", "--teacher", "random"]) == 0
    out = capsys.readouterr().out
    assert "PASS env Curricula/Toy-v0: task_outside_the_space_is_rejected" in out
    assert re.search(r"^16 passed, 0 failed$", out, re.MULTILINE)
    with pytest.raises(SystemExit):
        main(["check", "--teacher", "nope"])
    assert "--teacher 'nope' is not registered" in capsys.readouterr().err
