"""PLR / PLR⊥ / ACCEL: score functions on hand-computed GAE, the replay distribution in closed form, buffer rules,
and regression tests for bugs that public UED implementations had."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401
import teachers  # noqa: F401
from agents.robust_ppo import RobustPPO, make_robust_student, restrict_buffer
from curricula import CurriculumCallback, EpisodeResult, RolloutSignals, Task, TaskEnv, make_teacher, task_space_of
from curricula.testing import TinyLevelSpace
from teachers.plr import LevelBuffer, RankIndex, level_digest, replay_distribution, score_ranks

GAMMA, LAM = 0.9, 0.95
REWARDS = [0.0, 0.0, 1.0]
VALUES = [0.5, 0.9, 0.8]
# Hand-computed GAE of one finished 3-step episode (terminal after the last step):
#   d2 = 1 - 0.8 = 0.2                      A2 = 0.2
#   d1 = 0 + 0.9 * 0.8 - 0.9 = -0.18        A1 = -0.18 + 0.855 * 0.2 = -0.009
#   d0 = 0 + 0.9 * 0.9 - 0.5 = 0.31         A0 = 0.31 + 0.855 * (-0.009) = 0.302305
ADVANTAGES = [0.302305, -0.009, 0.2]
RAW_RETURN = 0.7  # MiniGrid's 1 - 0.9 * steps / max_steps; not derivable from the (bootstrapped) buffer rewards
EXPECTED = {
    "pvl": (0.302305 + 0.0 + 0.2) / 3,
    "l1": (0.302305 + 0.009 + 0.2) / 3,
    "maxmc": RAW_RETURN - (0.5 + 0.9 + 0.8) / 3,
}
SPACE = TinyLevelSpace()


def _level(*cells: int) -> dict:
    return {"cells": list(cells)}


def _signals(ids, advantages, values, starts, last_dones, tasks) -> RolloutSignals:
    adv = np.asarray(advantages, dtype=np.float64)
    val = np.asarray(values, dtype=np.float64)
    return RolloutSignals(
        task_ids=np.asarray(ids, dtype=np.int64),
        advantages=adv,
        values=val,
        returns=adv + val,
        episode_starts=np.asarray(starts, dtype=np.float64),
        last_dones=np.asarray(last_dones, dtype=bool),
        tasks={t.id: t for t in tasks},
    )


def test_hand_computed_gae_matches_sb3() -> None:
    space = gym.spaces.Box(0, 1, (1,))
    buffer = RolloutBuffer(3, space, gym.spaces.Discrete(2), gae_lambda=LAM, gamma=GAMMA, n_envs=1)
    for t in range(3):
        buffer.add(np.zeros((1, 1)), np.zeros(1), np.array([REWARDS[t]]), np.array([t == 0]),
                   torch.tensor([VALUES[t]]), torch.zeros(1))  # fmt: skip
    buffer.compute_returns_and_advantage(torch.tensor([0.123]), np.array([True]))
    np.testing.assert_allclose(buffer.advantages[:, 0], ADVANTAGES, atol=1e-6)


@pytest.mark.parametrize("score", ["pvl", "l1", "maxmc"])
def test_score_functions_on_a_hand_computed_episode(score: str) -> None:
    teacher = make_teacher("plr", SPACE, seed=0, score=score, buffer_size=8)
    task = teacher.sample()
    teacher.update(EpisodeResult(task=task, episode_return=RAW_RETURN, length=3, success=True, env_index=0))
    signals = _signals(
        [[task.id]] * 3, [[a] for a in ADVANTAGES], [[v] for v in VALUES], [[1], [0], [0]], [True], [task]
    )
    teacher.update_rollout(signals)
    assert len(teacher.buffer) == 1
    assert teacher.buffer.scores[0] == pytest.approx(EXPECTED[score], abs=1e-9)
    assert teacher.buffer.max_returns[0] == pytest.approx(RAW_RETURN)


def test_episode_cut_by_the_rollout_end_is_scored_over_all_its_steps_once() -> None:
    teacher = make_teacher("plr", SPACE, seed=0, score="l1", buffer_size=8)
    task = teacher.sample()
    first = _signals([[task.id]] * 2, [[1.0], [-2.0]], [[0.0], [0.0]], [[1], [0]], [False], [task])
    teacher.update_rollout(first)
    assert len(teacher.buffer) == 0, "an unfinished episode must not be scored yet"
    teacher.update(EpisodeResult(task=task, episode_return=0.0, length=3, success=False, env_index=0))
    nxt = teacher.sample()
    second = _signals([[task.id], [nxt.id]], [[3.0], [100.0]], [[0.0], [0.0]], [[0], [1]], [False], [task, nxt])
    teacher.update_rollout(second)
    assert len(teacher.buffer) == 1
    assert teacher.buffer.scores[0] == pytest.approx((1 + 2 + 3) / 3)


def test_parallel_envs_on_one_level_are_combined_not_overwritten() -> None:
    """facebookresearch/dcd#7: several actors replaying one level overwrote each other's score."""
    teacher = make_teacher("plr", SPACE, seed=0, score="pvl", buffer_size=8)
    a, b = teacher.sample(), teacher.sample()
    same = Task(id=b.id, level=a.level, annotations=b.annotations)  # env 1 plays env 0's level
    for t, env in ((a, 0), (same, 1)):
        teacher.update(EpisodeResult(task=t, episode_return=0.0, length=1, success=False, env_index=env))
    # env 0: 3 steps of advantage 1.0; env 1: 1 step of advantage 5.0 (then padding of a finished-elsewhere id)
    ids = [[a.id, same.id], [a.id, same.id], [a.id, same.id]]
    adv = [[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]]
    signals = _signals(ids, adv, np.zeros((3, 2)), [[1, 1], [0, 0], [0, 0]], [True, True], [a, same])
    teacher.update_rollout(signals)
    assert len(teacher.buffer) == 1
    assert teacher.buffer.scores[0] == pytest.approx((3 * 1.0 + 3 * 5.0) / 6)


# -- replay distribution in closed form ---------------------------------------------------------------------
def test_rank_weights_closed_form() -> None:
    p = replay_distribution(np.array([3.0, 1.0, 2.0]), np.zeros(3), 0, temperature=1.0, staleness_coef=0.0)
    np.testing.assert_allclose(p, np.array([1, 1 / 3, 1 / 2]) / (11 / 6))
    p = replay_distribution(np.array([3.0, 1.0, 2.0]), np.zeros(3), 0, temperature=0.5, staleness_coef=0.0)
    np.testing.assert_allclose(p, np.array([1, 1 / 9, 1 / 4]) / (1 + 1 / 9 + 1 / 4))


def test_competition_ranks_give_ties_equal_weight() -> None:
    p = replay_distribution(np.array([1.0, 1.0, 0.0]), np.zeros(3), 0, 1.0, 0.0, rank_ties="competition")
    np.testing.assert_allclose(p, [3 / 7, 3 / 7, 1 / 7])


def test_ordinal_ranks_break_ties_as_a_stable_flipped_argsort() -> None:
    """dcd ranks with ``np.flip(scores.argsort())``: every level its own rank; among ties the later slot first."""
    scores = np.array([1.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(score_ranks(scores), [3, 2, 4, 1])
    np.testing.assert_array_equal(score_ranks(scores, "competition"), [1, 1, 4, 1])
    p = replay_distribution(np.array([1.0, 1.0, 0.0]), np.zeros(3), 0, temperature=1.0, staleness_coef=0.0)
    np.testing.assert_allclose(p, np.array([1 / 2, 1, 1 / 3]) / (11 / 6))
    with pytest.raises(ValueError, match="rank_ties"):
        score_ranks(scores, "dense")


def test_rank_index_matches_a_fresh_argsort_after_every_change() -> None:
    """The incremental ranks equal :func:`score_ranks` (ties included) after appends, updates and rebuilds."""
    rng = np.random.default_rng(0)
    scores = np.zeros(0)
    index = RankIndex(scores)
    for step in range(600):
        if len(scores) < 40 and rng.random() < 0.5:
            score = float(rng.integers(0, 5))  # few distinct values: ties everywhere
            scores = np.append(scores, score)
            index.append(score)
        elif len(scores):
            slot = int(rng.integers(len(scores)))
            scores[slot] = float(rng.integers(0, 5)) if rng.random() < 0.7 else float(rng.random())
            index.update(slot, scores[slot])
        if step == 300:
            index.rebuild(scores)
        np.testing.assert_array_equal(index.ranks(), score_ranks(scores))


def test_eviction_slot_is_the_argmin_of_the_replay_distribution() -> None:
    """The unnormalised eviction shortcut picks the slot the replay distribution ranks lowest."""
    rng = np.random.default_rng(1)
    for trial in range(20):
        teacher = make_teacher("plr", SPACE, seed=trial, buffer_size=12, staleness_coef=float(rng.random()))
        for i in range(12):
            teacher._offer(_level(i % 4, i // 4, trial % 4, 0), float(rng.integers(0, 4)), 0.0)
            teacher.tasks_sampled += int(rng.integers(0, 3))
        assert teacher.eviction_slot() == int(np.argmin(teacher.replay_probabilities()))


def test_buffer_scores_change_only_through_the_buffer() -> None:
    buffer = LevelBuffer(SPACE, capacity=3)
    for i, score in enumerate((0.5, 0.1, 0.5)):
        buffer.offer(f"k{i}", _level(i, 0, 0, 0), score, 0.0, clock=0)
    with pytest.raises(ValueError, match="read-only"):
        buffer.scores[0] = 1.0
    buffer.set_score(1, 0.9)
    np.testing.assert_array_equal(buffer.ordinal_ranks(), score_ranks(np.array([0.5, 0.9, 0.5])))
    buffer.set_scores(np.array([0.0, 0.0, 1.0]))
    np.testing.assert_array_equal(buffer.ordinal_ranks(), [3, 2, 1])
    with pytest.raises(ValueError, match="2 scores for 3 levels"):
        buffer.set_scores(np.zeros(2))


def test_ten_positive_scores_among_3990_zeros() -> None:
    """With competition ranks the 3,990 tied zeros share rank 11 and take about half the score mass; with ordinal
    ranks (dcd, jaxued) they spread over ranks 11..4000 and get about 0.15 % (β 0.3)."""
    scores = np.zeros(4000)
    scores[:10] = np.linspace(1.0, 2.0, 10)
    zeros = slice(10, None)
    ordinal = replay_distribution(scores, np.zeros(4000), 0, temperature=0.3, staleness_coef=0.0)
    competition = replay_distribution(scores, np.zeros(4000), 0, 0.3, 0.0, rank_ties="competition")
    assert ordinal[zeros].sum() == pytest.approx(0.0015, abs=0.0003)
    assert competition[zeros].sum() == pytest.approx(0.54, abs=0.02)
    top = ordinal[:10]
    assert np.all(np.diff(top) > 0), "the positive levels keep their order"


def test_teacher_ranks_ordinally_by_default() -> None:
    teacher = make_teacher("plr", SPACE, seed=0, buffer_size=4, staleness_coef=0.0, temperature=1.0)
    old = make_teacher(
        "plr", SPACE, seed=0, buffer_size=4, staleness_coef=0.0, temperature=1.0, rank_ties="competition"
    )
    for t in (teacher, old):
        for cells in ((0, 0, 0, 0), (1, 0, 0, 0)):
            t._offer(_level(*cells), 0.0, 0.0)
    np.testing.assert_allclose(teacher.replay_probabilities(), [1 / 3, 2 / 3])
    np.testing.assert_allclose(old.replay_probabilities(), [1 / 2, 1 / 2])


def test_staleness_mixture_closed_form() -> None:
    p = replay_distribution(np.array([2.0, 1.0]), np.array([8, 4]), 10, temperature=1.0, staleness_coef=0.3)
    # P_S = [2/3, 1/3]; staleness [2, 6] -> P_C = [1/4, 3/4]
    np.testing.assert_allclose(p, 0.7 * np.array([2 / 3, 1 / 3]) + 0.3 * np.array([0.25, 0.75]))


def test_single_level_and_empty_buffer() -> None:
    np.testing.assert_allclose(replay_distribution(np.array([-3.0]), np.array([5]), 5, 0.3, 0.3), [1.0])
    with np.errstate(all="raise"):
        assert replay_distribution(np.zeros(0), np.zeros(0), 0, 0.3, 0.3).shape == (0,)
        # all levels sampled at this very clock: staleness is uniform, not 0/0
        np.testing.assert_allclose(replay_distribution(np.zeros(2), np.array([4, 4]), 4, 0.3, 1.0), [0.5, 0.5])


def test_empty_buffer_teacher_generates_new_levels() -> None:
    teacher = make_teacher("robust_plr", SPACE, seed=0, replay_prob=1.0, min_fill=0.0, buffer_size=4)
    assert not teacher.replay_ready()
    assert teacher.replay_probabilities().shape == (0,)
    assert teacher.sample().annotations["source"] == "new"


def test_buffer_evicts_the_lowest_score_only_for_a_higher_one() -> None:
    buffer = LevelBuffer(SPACE, capacity=2)
    for cells, score in (((0, 0, 0, 0), 0.5), ((1, 0, 0, 0), 0.1)):
        assert buffer.offer(SPACE.key(_level(*cells)), _level(*cells), score, 0.0, clock=0)
    assert not buffer.offer(SPACE.key(_level(2, 0, 0, 0)), _level(2, 0, 0, 0), 0.1, 0.0, clock=1)
    assert buffer.offer(SPACE.key(_level(3, 0, 0, 0)), _level(3, 0, 0, 0), 0.3, 0.0, clock=2)
    assert sorted(lv["cells"][0] for lv in buffer.levels) == [0, 3]
    assert buffer.evictions == 1
    # an existing level is updated in place (no duplicate)
    assert buffer.offer(SPACE.key(_level(3, 0, 0, 0)), _level(3, 0, 0, 0), 0.9, 0.0, clock=3)
    assert len(buffer) == 2 and buffer.scores.max() == pytest.approx(0.9)


def test_full_buffer_evicts_the_lowest_replay_weight_by_default() -> None:
    """dcd (``seed_buffer_priority="replay_support"``) and jaxued give up the level with the lowest replay weight:
    a low-scored level that has waited long (high staleness) survives; the lowest-score rule evicts it."""
    kwargs = dict(buffer_size=3, temperature=1.0, staleness_coef=0.5, min_fill=0.0)
    by_weight = make_teacher("plr", SPACE, seed=0, **kwargs)
    by_score = make_teacher("plr", SPACE, seed=0, eviction="score", **kwargs)
    stale, middle, fresh = _level(0, 0, 0, 0), _level(1, 0, 0, 0), _level(2, 0, 0, 0)
    for t in (by_weight, by_score):
        t._offer(stale, 0.1, 0.0)  # lowest score, inserted at clock 0
        t.tasks_sampled = 50
        t._offer(middle, 0.5, 0.0)
        t._offer(fresh, 0.4, 0.0)  # second lowest score, inserted last: no staleness
        t.tasks_sampled = 51
    weights = by_weight.replay_probabilities()
    assert int(np.argmin(weights)) == 2 and int(np.argmin(by_weight.buffer.scores)) == 0
    newcomer = _level(3, 0, 0, 0)
    assert by_weight._offer(newcomer, 0.45, 0.0) and by_score._offer(newcomer, 0.45, 0.0)
    assert by_weight.buffer.last_evicted == SPACE.key(fresh)
    assert by_score.buffer.last_evicted == SPACE.key(stale)
    # the newcomer must still beat the victim's score
    assert not by_weight._offer(_level(3, 3, 0, 0), 0.4, 0.0) and by_weight.buffer.last_evicted is None


def test_plr_bad_options_raise() -> None:
    for bad in (dict(temperature=0.0), dict(staleness_coef=1.5), dict(replay_prob=-0.1), dict(buffer_size=0)):
        with pytest.raises(ValueError):
            make_teacher("plr", SPACE, **bad)
    with pytest.raises(ValueError, match="score"):
        make_teacher("plr", SPACE, score="entropy")
    with pytest.raises(ValueError, match="replay_balance"):
        make_teacher("plr", SPACE, replay_balance="rollouts")
    with pytest.raises(ValueError, match="rank_ties"):
        make_teacher("plr", SPACE, rank_ties="dense")
    with pytest.raises(ValueError, match="eviction"):
        make_teacher("plr", SPACE, eviction="oldest")


@pytest.mark.parametrize("balance", ["episodes", "steps"])
def test_replay_share_of_steps_or_episodes(balance: str) -> None:
    """Replayed episodes last 10 steps, new ones 90: "episodes" replays half the episodes (10 % of the steps);
    "steps" replays until half the steps are replays (9 of 10 episodes)."""
    teacher = make_teacher("robust_plr", SPACE, seed=0, buffer_size=4, min_fill=0.0, replay_balance=balance)
    teacher._offer(_level(1, 0, 0, 0), 0.5, 0.0)  # one scored level: replay is possible from now on
    replayed_steps = total_steps = replays = 0
    for _ in range(2000):
        task = teacher.sample()
        length = 10 if task.annotations["source"] == "replay" else 90
        teacher.update(EpisodeResult(task=task, episode_return=0.0, length=length, success=False))
        replays += task.annotations["source"] == "replay"
        replayed_steps += length if task.annotations["source"] == "replay" else 0
        total_steps += length
    if balance == "episodes":
        assert replays / 2000 == pytest.approx(0.5, abs=0.05)
        assert replayed_steps / total_steps == pytest.approx(0.1, abs=0.02)
    else:
        assert replays / 2000 == pytest.approx(0.9, abs=0.01)
        assert replayed_steps / total_steps == pytest.approx(0.5, abs=0.01)
        assert teacher.balance_steps == [replayed_steps, total_steps]


# -- ACCEL ---------------------------------------------------------------------------------------------------
def test_accel_mutates_each_replayed_episodes_own_level() -> None:
    """facebookresearch/dcd#11: every edit cycle mutated the first replayed level only, copied to all envs."""
    # three equally weighted parents (tied scores share their rank), so that the three replays play three levels
    teacher = make_teacher(
        "accel", SPACE, seed=3, buffer_size=8, min_fill=0.0, replay_prob=1.0, rank_ties="competition"
    )
    parents = [_level(0, 0, 0, 0), _level(3, 3, 3, 3), _level(1, 2, 1, 2)]
    for lv in parents:
        teacher.buffer.offer(SPACE.key(lv), lv, 1.0, 0.0, clock=0)
    tasks = [teacher.sample() for _ in range(3)]
    assert all(t.annotations["source"] == "replay" for t in tasks)
    for env, t in enumerate(tasks):
        teacher.update(EpisodeResult(task=t, episode_return=0.0, length=2, success=False, env_index=env))
    ids = [[t.id for t in tasks]] * 2
    teacher.update_rollout(_signals(ids, np.ones((2, 3)), np.zeros((2, 3)), [[1] * 3, [0] * 3], [True] * 3, tasks))
    children = [teacher.sample() for _ in range(3)]
    assert all(c.annotations["source"] == "mutant" and c.annotations["n_mutations"] == 1 for c in children)
    for t, child in zip(tasks, children, strict=True):
        assert child.annotations["parent"] == level_digest(SPACE.key(t.level))
        differing = sum(x != y for x, y in zip(child.level["cells"], t.level["cells"], strict=True))
        assert differing <= 1, "a child is one edit away from its own parent"
    # children are exploratory: no gradient on them under PLR⊥
    cids = [[c.id for c in children]]
    for env, c in enumerate(children):
        teacher.update(EpisodeResult(task=c, episode_return=0.0, length=1, success=False, env_index=env))
    teacher.update_rollout(_signals(cids, np.ones((1, 3)), np.zeros((1, 3)), [[1] * 3], [True] * 3, children))
    assert not teacher.train_mask().any()


# -- PLR⊥ with a real student ----------------------------------------------------------------------------------
class LevelSpy(gym.Wrapper):
    """Between TaskEnv and the maze: records, at every reset, whether the built maze is the task's level."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.log: list[bool | None] = []

    def reset(self, **kwargs):
        out = self.env.reset(**kwargs)
        task = (kwargs.get("options") or {}).get("task")
        self.log.append(None if task is None else self.env.unwrapped.level == dict(task.level))
        return out


def test_every_episode_of_a_replay_rollout_plays_the_teachers_level() -> None:
    """facebookresearch/minimax#6: after the first episode of a rollout, envs auto-reset to random levels."""
    spies: list[LevelSpy] = []

    def make() -> TaskEnv:
        spies.append(LevelSpy(gym.make("Curricula/Maze-v0")))
        return TaskEnv(spies[-1])

    venv = DummyVecEnv([make, make])
    space = task_space_of(venv)
    teacher = make_teacher("robust_plr", space, seed=0, buffer_size=4, min_fill=0.0, replay_prob=1.0)
    for corner in range(4):  # easy levels (the goal right in front of the agent): many episodes per rollout
        walls = [["."] * space.size for _ in range(space.size)]
        walls[(corner // 2) * (space.size - 1)][(corner % 2) * (space.size - 1)] = "#"
        level = {
            "size": space.size,
            "walls": ["".join(r) for r in walls],
            "agent": [1, 1],
            "agent_dir": 0,
            "goal": [2, 1],
        }
        teacher.buffer.offer(space.key(level), level, 1.0, 0.0, clock=0)
    heard: list[Task] = []
    original_update, original_rollout = teacher.update, teacher.update_rollout
    rollouts: list[RolloutSignals] = []
    teacher.update = lambda result: (heard.append(result.task), original_update(result))[1]  # type: ignore[method-assign]
    teacher.update_rollout = lambda sig: (rollouts.append(sig), original_rollout(sig))[1]  # type: ignore[method-assign]
    masks: list[np.ndarray] = []
    student = make_robust_student(venv, lambda: masks.append(teacher.train_mask()) or masks[-1], n_steps=128)
    student.learn(1024, callback=CurriculumCallback(teacher))
    # 2 rollouts of 256 steps: an env with >= 3 episodes played two in one rollout
    assert any(
        sum(1 for seg in signals.segments() if seg[0] == env and seg[4]) >= 2 for signals in rollouts for env in (0, 1)
    ), "some env finished two episodes within one rollout"
    assert all(t.annotations["source"] == "replay" for t in heard)
    played = [ok for spy in spies for ok in spy.log if ok is not None]
    assert played and all(played), "an env played a level other than its task's"
    assert masks and all(m.all() for m in masks), "every step of a replay-only run is trainable"
    assert student.updates_skipped == 0 and student.updates_done == 4


def _tiny_maze_student(mask_fn) -> RobustPPO:
    venv = DummyVecEnv([lambda: TaskEnv(gym.make("Curricula/Maze-v0"), frozen_task=Task(id=0, level=_CORRIDOR))])
    return make_robust_student(venv, mask_fn, n_steps=16, batch_size=8, n_epochs=1, policy="MlpPolicy")


_CORRIDOR = {"size": 3, "walls": ["...", "###", "###"], "agent": [0, 0], "agent_dir": 0, "goal": [2, 0]}


def test_robust_ppo_skips_fully_exploratory_rollouts() -> None:
    student = _tiny_maze_student(lambda: np.zeros((16, 1), dtype=bool))
    before = [p.detach().clone() for p in student.policy.parameters()]
    student.learn(32)
    assert student.num_timesteps == 32, "env steps still advance"
    assert student.updates_skipped == 2 and student.updates_done == 0
    assert all(torch.equal(a, b) for a, b in zip(before, student.policy.parameters(), strict=True))
    trained = _tiny_maze_student(None)
    before = [p.detach().clone() for p in trained.policy.parameters()]
    trained.learn(16)
    assert not all(torch.equal(a, b) for a, b in zip(before, trained.policy.parameters(), strict=True))


def test_restricted_buffer_keeps_exactly_the_masked_steps() -> None:
    buffer = RolloutBuffer(4, gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(3), n_envs=2)
    for t in range(4):
        buffer.add(np.full((2, 2), t), np.array([t, t]), np.zeros(2), np.zeros(2), torch.tensor([t, 10.0 + t]),
                   torch.zeros(2))  # fmt: skip
    buffer.advantages = np.arange(8, dtype=np.float32).reshape(4, 2)
    mask = np.array([[True, False], [False, True], [True, True], [False, False]])
    kept = restrict_buffer(buffer, mask)
    assert kept.buffer_size == 4 and kept.n_envs == 1 and kept.full
    np.testing.assert_array_equal(kept.values[:, 0], [0.0, 11.0, 2.0, 12.0])
    np.testing.assert_array_equal(kept.advantages[:, 0], [0, 3, 4, 5])
    (batch,) = list(kept.get(batch_size=None))
    assert batch.observations.shape == (4, 2)
    with pytest.raises(ValueError, match="shape"):
        restrict_buffer(buffer, np.ones((4, 3), dtype=bool))
