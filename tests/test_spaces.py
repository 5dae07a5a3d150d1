from __future__ import annotations

import json
import math

import numpy as np
import pytest

from curricula import Dimension, ParameterSpace, SeedSpace, Task, TaskSpaceError

SPACE = ParameterSpace([Dimension("height", 0.0, 3.0), Dimension("n", 2, 5, integer=True)])


def test_normalize_round_trip_and_bounds() -> None:
    v = np.array([1.5, 3.0])
    np.testing.assert_allclose(SPACE.normalize(v), [0.5, 1 / 3])
    np.testing.assert_allclose(SPACE.denormalize(SPACE.normalize(v)), v)
    assert SPACE.to_params([9.0, 4.6]) == {"height": 3.0, "n": 5}
    assert isinstance(SPACE.to_params([0.1, 2.2])["n"], int)


def test_integer_dimension_sampling_is_uniform_over_values() -> None:
    draws = SPACE.sample_uniform(np.random.default_rng(0), 8000)
    values, counts = np.unique(draws[:, 1], return_counts=True)
    assert values.tolist() == [2, 3, 4, 5]
    assert counts.min() > 1800
    assert np.all((draws[:, 0] >= 0) & (draws[:, 0] <= 3))


def test_grid_includes_bounds() -> None:
    grid = ParameterSpace([Dimension("h", 0, 3), Dimension("s", 0, 6)]).grid(10)
    assert grid.shape == (100, 2)
    assert grid[:, 0].min() == 0 and grid[:, 0].max() == 3 and grid[:, 1].max() == 6


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"height": 1.0}, "missing \\['n'\\]"),
        ({"height": 1.0, "n": 3, "x": 0}, "unknown \\['x'\\]"),
        ({"height": 4.0, "n": 3}, "'height'=4.0 is outside"),
        ({"height": math.nan, "n": 3}, "finite"),
        ({"height": 1.0, "n": 2.5}, "integer"),
        ({"height": "1", "n": 3}, "number"),
    ],
)
def test_validation_names_the_field(params: dict, match: str) -> None:
    with pytest.raises(TaskSpaceError, match=match):
        SPACE.validate(params)


def test_bad_dimensions() -> None:
    with pytest.raises(TaskSpaceError, match="low"):
        Dimension("a", 2.0, 1.0)
    with pytest.raises(TaskSpaceError, match="duplicate"):
        ParameterSpace([Dimension("a", 0, 1), Dimension("a", 0, 1)])
    with pytest.raises(TaskSpaceError, match="integer bounds"):
        Dimension("k", 0.5, 3, integer=True)
    with pytest.raises(TaskSpaceError, match="3 values"):
        SPACE.to_params([1.0, 2.0, 3.0])


def test_seed_space() -> None:
    space = SeedSpace(10)
    level = space.generate(np.random.default_rng(0))
    space.validate(level)
    with pytest.raises(TaskSpaceError, match="num_seeds"):
        space.validate({"seed": 10})
    with pytest.raises(TaskSpaceError, match="seed"):
        space.validate({"seed": -1})


def test_task_json_round_trip() -> None:
    task = Task(id=3, params={"height": np.float64(1.5), "n": np.int64(2)}, annotations={"why": "test"})
    data = json.loads(task.dumps())
    again = Task.from_json(data)
    assert again.to_json() == task.to_json()
    with pytest.raises(ValueError, match="params or level"):
        Task(id=0)
    with pytest.raises(ValueError, match="non-negative"):
        Task(id=-1, params={})
