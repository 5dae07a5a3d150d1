"""ALP-GMM and Covar-GMM: ALP on hand examples, fit schedule, presets, bounds, integer dims, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import teachers  # noqa: F401
from curricula import Dimension, EpisodeResult, ParameterSpace, Task, make_teacher
from curricula.serialization import load_state, save_state
from teachers.alp_gmm import ALPGMMFaithfulTeacher, ALPGMMTeacher
from teachers.covar_gmm import CovarGMMTeacher
from teachers.gmm import FittedGMM
from teachers.numerics import NearestNeighbour

STUMP = ParameterSpace([Dimension("height", 0.0, 3.0), Dimension("spacing", 0.0, 6.0)])
MIXED = ParameterSpace([Dimension("rooms", 1, 4, integer=True), Dimension("density", 0.0, 1.0)])


def _feed(teacher, points: list[tuple[float, float]], returns: list[float]) -> None:
    """Report the given tasks/returns (ids are the teacher's; the params are ours)."""
    names = teacher.space.names
    for point, ret in zip(points, returns, strict=True):
        issued = teacher.sample()
        task = Task(id=issued.id, params=dict(zip(names, point, strict=True)))
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=False))


def _run(teacher, episodes: int, student=None) -> list[dict]:
    out = []
    for _ in range(episodes):
        task = teacher.sample()
        p = np.array([task.params[n] for n in teacher.space.names])
        ret = student(p) if student else float(p[0] / teacher.space.high[0])
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=False))
        out.append(dict(task.params))
    return out


def test_alp_is_zero_until_more_than_five_then_one_nn() -> None:
    teacher = ALPGMMFaithfulTeacher(STUMP, seed=0)
    points = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (0.0, 6.0), (3.0, 6.0)]
    _feed(teacher, points, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert teacher.alps.view[:, 0].tolist() == [0.0] * 6
    # nearest earlier task of (2.2, 0.5) is (2, 0), return 0.2 -> ALP |0.9 - 0.2| = 0.7
    _feed(teacher, [(2.2, 0.5)], [0.9])
    assert teacher.alps.view[-1, 0] == pytest.approx(0.7)
    # an identical earlier task can be the neighbour (the task itself cannot: it is stored after the query)
    _feed(teacher, [(2.2, 0.5)], [0.85])
    assert teacher.alps.view[-1, 0] == pytest.approx(0.05)


def test_faithful_works_in_raw_units_improved_in_unit_cube() -> None:
    # (1.0, 3.0) is nearer (2.0, 3.0) in raw units (1.0 vs 1.2), nearer (1.0, 1.8) in the unit cube (0.33 vs 0.2)
    setup = [(0.0, 0.0)] * 4 + [(2.0, 3.0), (1.0, 1.8)]
    faithful, improved = ALPGMMFaithfulTeacher(STUMP), ALPGMMTeacher(STUMP, return_bounds=(0.0, 1.0))
    for teacher in (faithful, improved):
        _feed(teacher, setup, [0.0, 0.0, 0.0, 0.0, 0.3, 0.6])
        _feed(teacher, [(1.0, 3.0)], [1.0])
    assert faithful.alps.view[-1, 0] == pytest.approx(0.7)
    assert improved.alps.view[-1, 0] == pytest.approx(0.4)


def test_alp_memory_compares_with_recent_tasks_only() -> None:
    # (1, 3) was played long ago with return 0; since then 6 tasks elsewhere returned 0.5
    setup = [(1.0, 3.0)] + [(3.0, 0.0)] * 6
    returns = [0.0] + [0.5] * 6
    whole, recent = ALPGMMTeacher(STUMP, alp_memory=None), ALPGMMTeacher(STUMP, alp_memory=6)
    for teacher in (whole, recent):
        _feed(teacher, setup, returns)
        _feed(teacher, [(1.0, 3.0)], [1.0])
    assert whole.alps.view[-1, 0] == pytest.approx(1.0), "whole history: the old visit of the same task"
    assert recent.alps.view[-1, 0] == pytest.approx(0.5), "memory 6: the nearest of the last 6 tasks"
    with pytest.raises(ValueError, match="alp_memory"):
        ALPGMMTeacher(STUMP, alp_memory=3)


def test_local_k_search_tries_neighbours_of_the_current_k() -> None:
    teacher = ALPGMMTeacher(STUMP, seed=0, fit_rate=30, potential_ks=[2, 3, 4, 5, 6], local_k_search=True)
    assert teacher._candidate_ks() == (2, 3, 4, 5, 6), "no mixture yet: full search"
    _run(teacher, 60)
    k = teacher.gmm.k
    assert set(teacher._candidate_ks()) == {c for c in (k - 1, k, k + 1) if 2 <= c <= 6}
    teacher.fits = 10
    assert teacher._candidate_ks() == (2, 3, 4, 5, 6), "every tenth fit searches all k"


def test_nearest_neighbour_matches_brute_force_across_tree_rebuilds() -> None:
    rng = np.random.default_rng(0)
    nn = NearestNeighbour(3, buffer_size=50)
    points = rng.random((180, 3))
    for p in points:
        nn.add(p)
    for q in rng.random((40, 3)):
        assert nn.query(q) == int(np.argmin(((points - q) ** 2).sum(axis=1)))


def test_presets() -> None:
    paper = ALPGMMFaithfulTeacher(STUMP, preset="paper", return_bounds=(-150.0, 350.0))
    assert (paper.fit_rate, paper.bootstrap, paper.random_task_ratio) == (250, 250, 0.2)
    assert paper.potential_ks == tuple(range(2, 11))
    assert paper.scale_return(100.0) == pytest.approx(0.5) and paper.scale_return(400.0) == 1.0
    tma = ALPGMMFaithfulTeacher(STUMP, preset="teachmyagent")
    assert (tma.fit_rate, tma.bootstrap, tma.random_task_ratio) == (150, 150, 0.05)
    assert tma.potential_ks == tuple(range(2, 10))
    assert tma.scale_return(100.0) == 100.0, "TeachMyAgent feeds raw returns"
    assert not paper.normalize_tasks and paper.reg_covar == 1e-6
    assert ALPGMMFaithfulTeacher(STUMP, preset="paper", fit_rate=100).fit_rate == 100
    with pytest.raises(ValueError, match=r"'corl2020'.*allowed: 'paper', 'teachmyagent'"):
        ALPGMMFaithfulTeacher(STUMP, preset="corl2020")
    covar = CovarGMMTeacher(STUMP, preset="teachmyagent")
    assert (covar.fit_rate, covar.random_task_ratio, covar.potential_ks[-1]) == (150, 0.1, 14)
    assert covar.preset == "teachmyagent" and CovarGMMTeacher(STUMP).preset is None
    # no preset: the constructor defaults, which are the paper preset's
    default = make_teacher("alp_gmm_faithful", STUMP)
    assert (default.fit_rate, default.potential_ks, default.random_task_ratio) == (250, tuple(range(2, 11)), 0.2)
    with pytest.raises(ValueError, match="no presets"):
        make_teacher("alp_gmm", STUMP, preset="paper")


def test_fit_schedule_uniform_bootstrap_then_fit_every_fit_rate() -> None:
    teacher = ALPGMMFaithfulTeacher(STUMP, seed=1, fit_rate=40, potential_ks=[2, 3])
    _run(teacher, 39)
    assert teacher.gmm is None and teacher.fits == 0
    _run(teacher, 1)
    assert teacher.fits == 1 and teacher.gmm is not None
    _run(teacher, 39)
    assert teacher.fits == 1
    _run(teacher, 1)
    assert teacher.fits == 2
    assert teacher._fit_data().shape == (40, 3), "window = the last fit_rate [task, ALP] vectors"


def test_component_picked_in_proportion_to_mean_alp() -> None:
    teacher = ALPGMMFaithfulTeacher(STUMP, seed=2, fit_rate=20, random_task_ratio=0.0)
    _run(teacher, 20)
    means = np.array([[0.5, 1.0, 0.0], [2.5, 5.0, 0.3]])
    covs = np.stack([np.eye(3) * 1e-4] * 2)
    teacher.gmm = FittedGMM(np.array([0.9, 0.1]), means, covs, teacher._component_lp(np.ones(2), means, covs))
    picks = [teacher.sample().annotations["component"] for _ in range(50)]
    assert picks == [1] * 50, "mixture weights are ignored; a zero-ALP component is never picked"
    sample = teacher.sample()
    assert abs(sample.params["height"] - 2.5) < 0.1 and abs(sample.params["spacing"] - 5.0) < 0.1


@pytest.mark.parametrize("name", ["alp_gmm", "alp_gmm_faithful", "covar_gmm"])
def test_samples_stay_in_bounds(name: str) -> None:
    teacher = make_teacher(name, STUMP, seed=3, fit_rate=30, potential_ks=[2, 3, 4])
    # returns peak at the boundary so that components sit on it and draws spill over
    tasks = _run(teacher, 300, student=lambda p: float(p[0] > 2.8))
    for params in tasks:
        STUMP.validate(params)
    assert teacher.fits >= 9


def test_integer_dimension_does_not_collapse_the_gmm() -> None:
    def student(p: np.ndarray) -> float:
        return float(p[0] <= 2) * p[1]

    variances = {}
    for name in ("alp_gmm", "alp_gmm_faithful"):
        teacher = make_teacher(name, MIXED, seed=4, fit_rate=60, potential_ks=[2, 3, 4, 5, 6])
        _run(teacher, 600, student=student)
        unit = teacher.gmm.covariances[:, 0, 0] / (1.0 if teacher.normalize_tasks else 9.0)
        variances[name] = float(unit.min())
    # jitter over each rounding cell keeps every component at least ~cell^2/12 wide in the integer dim
    assert variances["alp_gmm"] > 1e-3
    assert variances["alp_gmm_faithful"] < variances["alp_gmm"]


def test_covar_gmm_lp_is_positive_time_return_covariance() -> None:
    teacher = CovarGMMTeacher(STUMP, seed=0)
    covs = np.zeros((3, 4, 4))
    covs[:, 2, 3] = covs[:, 3, 2] = [0.2, -0.1, 0.0]
    lp = teacher._component_lp(np.ones(3), np.zeros((3, 4)), covs)
    np.testing.assert_allclose(lp, [0.2, 0.0, 0.0])
    absolute = CovarGMMTeacher(STUMP, seed=0, absolute_lp=True)
    np.testing.assert_allclose(absolute._component_lp(np.ones(3), np.zeros((3, 4)), covs), [0.2, 0.1, 0.0])
    _run(teacher, 10)
    np.testing.assert_allclose(teacher.times.view[:, 0], np.arange(10) / 250)


def test_async_refit_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    kwargs = dict(fit_rate=30, potential_ks=[2, 3], async_refit=True, refit_lag=7)
    a = make_teacher("alp_gmm", STUMP, seed=5, **kwargs)
    b = make_teacher("alp_gmm", STUMP, seed=5, **kwargs)
    assert _run(a, 95) == _run(b, 95)
    # 95 episodes: the fit due at 90 is still pending (installed at 97); save and restore mid-flight
    assert a._pending_ready_at == 97
    save_state(tmp_path / "t.npz", a.state_dict())
    c = make_teacher("alp_gmm", STUMP, seed=0, **kwargs)
    c.load_state_dict(load_state(tmp_path / "t.npz"))
    assert _run(a, 40) == _run(c, 40)
    sync = make_teacher("alp_gmm", STUMP, seed=5, fit_rate=30, potential_ks=[2, 3])
    assert _run(sync, 95) != _run(make_teacher("alp_gmm", STUMP, seed=5, **kwargs), 95), "the lag matters"


def test_scalars_report_the_mixture() -> None:
    teacher = make_teacher("alp_gmm", STUMP, seed=0, fit_rate=25, potential_ks=[2])
    _run(teacher, 25)
    scalars = teacher.scalars()
    assert scalars["gmm_components"] == 2 and scalars["gmm_fits"] == 1
    assert scalars["gmm_refit_ms"] > 0 and "mean_alp" in scalars


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="fit_rate"):
        ALPGMMTeacher(STUMP, fit_rate=1)
    with pytest.raises(ValueError, match="random_task_ratio"):
        ALPGMMTeacher(STUMP, random_task_ratio=1.5)
    with pytest.raises(ValueError, match="return_bounds"):
        ALPGMMTeacher(STUMP, return_bounds=(1.0, 0.0))
    with pytest.raises(ValueError, match="criterion"):
        ALPGMMTeacher(STUMP, criterion="dic")
    with pytest.raises(ValueError, match="refit_lag"):
        ALPGMMTeacher(STUMP, async_refit=True, refit_lag=300)


def test_plots_are_written_for_2d_spaces_only(tmp_path: Path) -> None:
    from curricula.plotting import plot_sampling_density, save_teacher_plots

    teacher = make_teacher("alp_gmm", STUMP, seed=0, fit_rate=30, potential_ks=[2, 3])
    _run(teacher, 90)
    paths = save_teacher_plots(teacher, STUMP, tmp_path, teacher.episodes_seen)
    assert [p.name for p in paths] == ["density_00000090.png", "gmm_00000090.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    means, covs, lp = teacher.gmm_in_task_units()
    assert means.shape == (len(lp), 2) and covs.shape == (len(lp), 2, 2)
    three_d = ParameterSpace([Dimension(n, 0.0, 1.0) for n in "abc"])
    with pytest.raises(ValueError, match="2-D"):
        plot_sampling_density(np.zeros((5, 3)), three_d, tmp_path / "x.png")


def test_plots_of_a_teacher_without_history_need_the_played_tasks(tmp_path) -> None:
    from curricula.plotting import save_teacher_plots
    from teachers.random import RandomTeacher

    teacher = RandomTeacher(STUMP, seed=0)
    with pytest.raises(ValueError, match="tasks="):
        save_teacher_plots(teacher, STUMP, tmp_path, 0)
    played = np.array([STUMP.to_vector(teacher.sample().params) for _ in range(50)])
    paths = save_teacher_plots(teacher, STUMP, tmp_path, 50, tasks=played)
    assert [p.name for p in paths] == ["density_00000050.png"] and paths[0].is_file()


def test_close_mid_refit_keeps_the_pending_mixture_and_restarts_the_thread() -> None:
    kwargs = dict(fit_rate=30, potential_ks=[2, 3], async_refit=True, refit_lag=7)
    closed, untouched = (
        make_teacher("alp_gmm", STUMP, seed=5, **kwargs),
        make_teacher("alp_gmm", STUMP, seed=5, **kwargs),
    )
    assert _run(closed, 95) == _run(untouched, 95)
    assert closed._pending_ready_at == 97, "a fit is in flight"
    closed.close()
    closed.close()
    assert closed._executor is None
    assert _run(closed, 40) == _run(untouched, 40), "the pending fit is installed when due, later fits restart a thread"
    assert closed.fits == untouched.fits == 4
    closed.close()
    untouched.close()


def test_state_has_one_level_of_keys() -> None:
    # one state pattern: each class adds its keys to its parent's dict (no nested "own" sections)
    teacher = make_teacher("covar_gmm", STUMP, seed=0, fit_rate=20, potential_ks=[2])
    _run(teacher, 25)
    own = teacher.state_dict()["own"]
    assert {"tasks", "returns", "fits", "gmm", "times"} <= set(own) and "own" not in own
    alp = make_teacher("alp_gmm_faithful", STUMP, seed=0).state_dict()["own"]
    assert "alps" in alp and "own" not in alp


def test_window_component_alp_reads_time_not_space() -> None:
    from teachers.alp_gmm import window_component_alp

    rng = np.random.default_rng(0)
    tasks = rng.random((200, 2))
    left = tasks[:, 0] < 0.5
    means = np.array([[0.25, 0.5], [0.75, 0.5]])
    covs = np.stack([np.diag([0.005, 0.08])] * 2)
    # a step in difficulty: the left half always returns 1, the right half 0 (the 1-NN ALP sees 1 along the edge)
    # here it is only the sampling noise of the two halves (the tail of each Gaussian across the edge)
    step = window_component_alp(tasks, left.astype(float), np.array([0.5, 0.5]), means, covs)
    assert np.all(step < 0.03)
    # the right half improves during the window: 0 in the older half, 0.6 in the newer half
    progress = np.where(~left & (np.arange(200) >= 100), 0.6, 0.0)
    alp = window_component_alp(tasks, progress, np.array([0.5, 0.5]), means, covs)
    assert alp[0] < 0.03 and alp[1] == pytest.approx(0.6, abs=0.03)
    # forgetting counts as well (absolute progress)
    alp = window_component_alp(tasks, 0.6 - progress, np.array([0.5, 0.5]), means, covs)
    assert alp[1] == pytest.approx(0.6, abs=0.03)
    # a component that holds no task of one half has no estimate
    far = window_component_alp(tasks, progress, np.array([0.5, 0.5]), np.array([[0.25, 0.5], [5.0, 5.0]]), covs)
    assert far[1] == 0.0


def test_improved_scores_components_by_window_alp() -> None:
    from teachers.alp_gmm import component_responsibilities, window_component_alp

    # the default: fitted on [task, time, return], episodes shared by their responsibilities over all three columns
    teacher = make_teacher("alp_gmm", STUMP, seed=0, fit_rate=60, potential_ks=[2, 3])
    assert isinstance(teacher, ALPGMMTeacher)
    assert (teacher.fit_columns, teacher.component_lp, teacher.mean_alp_share) == ("time_return", "window_joint", 0.0)
    _run(teacher, 120)
    assert teacher.gmm is not None
    d = teacher.tasks.width
    fitted = teacher._fit_data()
    assert fitted.shape == (60, d + 2)
    np.testing.assert_allclose(fitted[:, d], np.arange(60) / 60)  # position in the window
    np.testing.assert_allclose(fitted[:, d + 1], teacher.returns.view[-60:, 0] / teacher.return_range())
    joint = window_component_alp(
        fitted,
        teacher.returns.view[-60:, 0] / teacher.return_range(),
        teacher.gmm.weights,
        teacher.gmm.means,
        teacher.gmm.covariances,
    )
    np.testing.assert_allclose(teacher.gmm.lp, joint)
    # with a tie-break share, the episodes' 1-NN ALPs are averaged by the same responsibilities (no ALP column)
    shared = make_teacher("alp_gmm", STUMP, seed=0, fit_rate=60, potential_ks=[2, 3], mean_alp_share=0.2)
    _run(shared, 120)
    assert isinstance(shared, ALPGMMTeacher) and shared.gmm is not None
    gmm = shared.gmm
    resp = component_responsibilities(shared._fit_data(), gmm.weights, gmm.means, gmm.covariances)
    mean_alp = resp @ shared.alp_column() / resp.sum(axis=1)
    in_time = window_component_alp(
        shared._fit_data(), shared.returns.view[-60:, 0] / shared.return_range(), gmm.weights, gmm.means,
        gmm.covariances,
    )  # fmt: skip
    np.testing.assert_allclose(gmm.lp, in_time + 0.2 * mean_alp)

    # the previous default: the [task, ALP] fit with task-marginal responsibilities and the mean-ALP tie-break
    alp_fit = make_teacher(
        "alp_gmm", STUMP, seed=0, fit_rate=60, potential_ks=[2, 3], fit_columns="alp", component_lp="window"
    )
    assert isinstance(alp_fit, ALPGMMTeacher)
    assert (alp_fit.fit_columns, alp_fit.component_lp, alp_fit.mean_alp_share) == ("alp", "window", 0.1)
    _run(alp_fit, 120)
    assert alp_fit.gmm is not None
    expected = window_component_alp(
        alp_fit.tasks.view[-60:],
        alp_fit.returns.view[-60:, 0] / alp_fit.return_range(),
        alp_fit.gmm.weights,
        alp_fit.gmm.means[:, :d],
        alp_fit.gmm.covariances[:, :d, :d],
    )
    mean_alp = np.clip(alp_fit.gmm.means[:, -1], 0.0, None)
    np.testing.assert_allclose(alp_fit.gmm.lp, expected + 0.1 * mean_alp)
    reference = make_teacher(
        "alp_gmm", STUMP, seed=0, fit_rate=60, potential_ks=[2, 3], fit_columns="alp", component_lp="mean_alp"
    )
    _run(reference, 120)
    assert isinstance(reference, ALPGMMTeacher) and reference.gmm is not None
    np.testing.assert_allclose(reference.gmm.lp, np.clip(reference.gmm.means[:, -1], 0.0, None))
    with pytest.raises(ValueError, match="component_lp"):
        make_teacher("alp_gmm", STUMP, component_lp="median")
    with pytest.raises(ValueError, match="fit_columns"):
        make_teacher("alp_gmm", STUMP, fit_columns="return")
    with pytest.raises(ValueError, match="needs fit_columns='alp'"):
        make_teacher("alp_gmm", STUMP, fit_columns="time_return", component_lp="mean_alp")
    with pytest.raises(ValueError, match="mean_alp_share"):
        make_teacher("alp_gmm", STUMP, mean_alp_share=-1.0)
