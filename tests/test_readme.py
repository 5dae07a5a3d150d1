"""The README's Python example runs as written (with a tiny budget)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    code = blocks[0].replace("200_000", "512")
    assert code != blocks[0], "the example's budget is no longer 200_000; update this test"
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # our own README, not untrusted input
    report = namespace["report"]
    assert len(report.successes) == 28  # the 7 x 4 grid of room sizes and obstacle counts
    assert report.mastered_percent == 100.0 * float((report.successes >= 1.0).mean())
    assert namespace["teacher"].episodes_seen > 0 and namespace["student"].num_timesteps >= 512


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:20])
    assert "make demo" in first_screen and "make test" in first_screen
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci
