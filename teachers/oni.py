"""ONI: intrinsic rewards from asynchronous LLM feedback on the agent's own captioned experience.

Zheng, Henaff, Zhang, Grover, Amos, "Online Intrinsic Rewards for Decision Making Agents from Large Language Model
Feedback" (2024). The env captions each step (``info["caption"]``, e.g. MiniGrid's ``envs.captions``); each
*unique* caption is sent once, asynchronously, to an annotator (an LLM through :class:`curricula.llm.Annotator`,
or the noisy oracle below) for a helpfulness label; the labels train a reward model in the learner process; and
every step's reward becomes::

    r = c_ext * r_env + c_int * r_model(caption) / N_episode(caption) ** beta

where ``N_episode`` counts the caption in the current episode of that env (so a pick-up/drop loop stops paying)
and a caption without a label yet pays 0. The reward model is one of ONI's three (:mod:`teachers.oni_models`):
``"retrieval"`` (the label itself), ``"classification"`` (a caption classifier, reward 1[p > 0.5]) or
``"ranking"`` (a Bradley-Terry score trained on pairwise preferences, normalised and thresholded).

ONI is a **reward teacher** (:mod:`curricula.reward_teacher`): its part is a ``VecEnv`` wrapper in the learner
process (:class:`ONIVecEnv`), batched over all envs. It composes with any task teacher, and it never touches
``EpisodeResult.episode_return``, which the ``TaskEnv`` below records from the env's own reward. The annotator is
asynchronous, so stepping never waits for the LLM; a slow, down or nonsensical server means fewer labels (counted
and logged), never a crash.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from curricula.llm import Annotator, ChoiceReply, EmbeddedLLMServer, Item, LLMClient, LLMConfig
from curricula.reward_teacher import RewardTeacher, register_reward_teacher
from teachers.oni_models import (
    ClassificationRewardModel,
    RankingRewardModel,
    RetrievalRewardModel,
    RewardModel,
    make_reward_model,
)

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

logger = logging.getLogger(__name__)

REWARD_MODELS = ("retrieval", "classification", "ranking")
ANNOTATORS = ("llm", "oracle")

#: ONI's label scheme: neutral words, so the words themselves carry no bias (FOO = helpful)
HELPFUL, UNHELPFUL = "FOO", "BAR"
LABEL_REPLY = ChoiceReply((HELPFUL, UNHELPFUL))
#: Motif's preference reply: the first description, the second, or no preference
PREFERENCE_REPLY = ChoiceReply(("1", "2", "None"))
PREFERENCE_VALUE = {"1": 1.0, "2": 0.0, "None": 0.5}

SYSTEM_SENTENCE = (
    "You are a helpful and honest judge of play in MiniGrid, a grid world in which an agent must complete a "
    "mission (reach the goal square, or pick up a target object), often by finding keys, unlocking doors, opening "
    "boxes and exploring rooms. Do not invent facts."
)
#: completion-style and few-shot, so that small *base* models (the embedded Gemma-3-270M) can follow it
LABEL_PROMPT = (
    SYSTEM_SENTENCE + "\nLabel each event FOO if it is extremely helpful progress toward the mission, or BAR if it "
    "is unhelpful, neutral or lukewarm.\n\n"
    "Event: you picked up the yellow key\nLabel: FOO\n"
    "Event: you dropped the yellow key\nLabel: BAR\n"
    "Event: you unlocked the yellow door\nLabel: FOO\n"
    "Event: you closed the blue door\nLabel: BAR\n"
    "Event: {caption}\nLabel:"
)
PREFERENCE_PROMPT = (
    SYSTEM_SENTENCE + "\nFrom first principles, say which event shows more progress toward the mission: 1, 2, or "
    "None if neither does.\n\n"
    "Event 1: you dropped the red key\nEvent 2: you opened the red door\nAnswer: 2\n"
    "Event 1: you picked up the purple key\nEvent 2: the purple door is locked\nAnswer: 1\n"
    "Event 1: you closed the grey door\nEvent 2: you dropped the grey ball\nAnswer: None\n"
    "Event 1: {first}\nEvent 2: {second}\nAnswer:"
)
MAX_CAPTION_CHARS = 256


def _clean(caption: str) -> str:
    """A caption as it goes into a prompt: one line, bounded (env messages are data, not prompt structure)."""
    return " ".join(caption.split())[:MAX_CAPTION_CHARS]


def label_item(caption: str, helpful: bool | None = None) -> Item:
    """The annotator item asking for a caption's helpfulness label.

    :param caption: the caption (also the dedup key)
    :param helpful: the env's ground truth, if it gives one (read by the noisy oracle only; an LLM never sees it)
    """
    return Item(caption, LABEL_PROMPT.format(caption=_clean(caption)), {"helpful": helpful})


def preference_item(first: str, second: str, helpful: tuple[bool | None, bool | None] = (None, None)) -> Item:
    """The annotator item asking which of two captions shows more progress (key ``(first, second)``).

    :param first: caption shown as event 1
    :param second: caption shown as event 2
    :param helpful: the env's ground truth of both, if given (noisy oracle only)
    """
    prompt = PREFERENCE_PROMPT.format(first=_clean(first), second=_clean(second))
    return Item((first, second), prompt, {"helpful": list(helpful)})


class LabelSource(Protocol):
    """What ONI needs of an annotator: :class:`curricula.llm.Annotator`'s non-blocking interface."""

    def submit(self, items: Iterable[str | Item]) -> None: ...

    def poll(self) -> dict[Hashable, str]: ...

    def stats(self) -> dict[str, float]: ...

    def close(self, timeout: float | None = None) -> None: ...


class NoisyOracleAnnotator:
    """Labels from the task's structure instead of an LLM: the env's ``caption_helpful`` ground truth (carried in
    each item's context), each label flipped with probability ``flip_prob``.

    Same non-blocking interface as :class:`curricula.llm.Annotator` (labels are ready at the next :meth:`poll`).
    A flip is decided once per key, so a caption keeps its (possibly wrong) label for the whole run, as an LLM's
    cached answer would. Items without ground truth get no label (they are counted as ``failed``).

    :param flip_prob: probability that a label (or a preference) is flipped
    :param seed: seeds the flips
    """

    def __init__(self, flip_prob: float = 0.0, seed: int = 0) -> None:
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
        self.flip_prob = flip_prob
        self.seed = seed
        self._results: dict[Hashable, str] = {}
        self._new: dict[Hashable, str] = {}
        self._counts = dict.fromkeys(("submitted", "duplicates", "labelled", "failed", "flipped"), 0)

    def _flip(self, key: Hashable) -> bool:
        # a per-key draw (not a shared stream), so labels do not depend on the order captions are met in
        digest = zlib.crc32(repr((self.seed, key)).encode("utf-8"))
        return digest / 2**32 < self.flip_prob

    def _label(self, item: Item) -> str | None:
        truth = (item.context or {}).get("helpful")
        flip = self._flip(item.key)
        if isinstance(truth, bool):
            self._counts["flipped"] += flip
            return HELPFUL if truth != flip else UNHELPFUL
        if isinstance(truth, list) and len(truth) == 2 and all(isinstance(h, bool) for h in truth):
            first, second = truth
            self._counts["flipped"] += flip
            if first == second:
                answer = "None"
                if flip:  # a noisy judge invents a preference where there is none
                    answer = "1" if zlib.crc32(repr(item.key).encode("utf-8")) % 2 else "2"
                return answer
            return "1" if first != flip else "2"
        return None

    def submit(self, items: Iterable[str | Item]) -> None:
        """Label items at once (those with ground truth in their context).

        :param items: :class:`Item` with context ``{"helpful": bool}`` or ``{"helpful": [bool, bool]}``
        """
        for raw in items:
            item = Item(raw, raw) if isinstance(raw, str) else raw
            self._counts["submitted"] += 1
            if item.key in self._results:
                self._counts["duplicates"] += 1
                continue
            label = self._label(item)
            if label is None:
                self._counts["failed"] += 1
                continue
            self._results[item.key] = label
            self._new[item.key] = label
            self._counts["labelled"] += 1

    def get(self, key: Hashable) -> str | None:
        return self._results.get(key)

    def poll(self) -> dict[Hashable, str]:
        new, self._new = self._new, {}
        return new

    def stats(self) -> dict[str, float]:
        return {
            **{k: float(v) for k, v in self._counts.items()},
            "sent": float(self._counts["labelled"] + self._counts["failed"]),
            "queue_len": 0.0,
            "in_flight": 0.0,
            "labels": float(len(self._results)),
        }

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float | None = None) -> None:
        return


class _NoAnnotator:
    """Stands in for an annotator that could not be started: labels nothing, counts what it was asked."""

    def __init__(self) -> None:
        self.failed = 0

    def submit(self, items: Iterable[str | Item]) -> None:
        self.failed += sum(1 for _ in items)

    def poll(self) -> dict[Hashable, str]:
        return {}

    def stats(self) -> dict[str, float]:
        return {"failed": float(self.failed), "queue_len": 0.0, "in_flight": 0.0}

    def close(self, timeout: float | None = None) -> None:
        return


def _resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@register_reward_teacher("oni")
class ONITeacher(RewardTeacher):
    """ONI's intrinsic reward as a reward teacher: a learner-side ``VecEnv`` wrapper (:meth:`wrap_vec_env`).

    :param seed: seeds the reward models, pair sampling and the oracle's flips
    :param reward_model: ``"retrieval"``, ``"classification"`` or ``"ranking"``
    :param annotator: ``"llm"`` (an LLM server through :class:`curricula.llm.Annotator`) or ``"oracle"`` (the
        env's ``caption_helpful`` ground truth, flipped with probability ``flip_prob``)
    :param flip_prob: the noisy oracle's flip probability
    :param c_ext: coefficient of the env's reward (ONI: 10 on sparse NetHack tasks, 0.1 on Score)
    :param c_int: coefficient of the intrinsic reward (ONI: 0.4)
    :param beta: count-decay exponent: a caption's reward is divided by N_episode(caption) ** beta (ONI: 3)
    :param llm: an LLM config (``LLMConfig`` or its dict: ``base_url``, ``model``, ...); with ``annotator="llm"``
        and neither ``llm`` nor ``client``, an embedded server is started and stopped with the teacher
    :param client: an LLM client to use instead (the caller owns it)
    :param llm_chat: send prompts as chat messages (instruction-tuned servers) instead of completions
    :param llm_max_tokens: generation budget per label
    :param llm_concurrency: LLM requests in flight at most
    :param few_labels: below this many labels, train ``steps_per_label_batch`` steps per new label batch; above
        it, one step every ``late_train_interval`` env steps (ONI: 25,000; 32 steps; one per learner iteration)
    :param steps_per_label_batch: gradient steps per new label batch while labels are few
    :param late_train_interval: env steps (of the whole ``VecEnv``) between single steps once labels are many
    :param model_kwargs: options of the reward model (``threshold``, ``lr``, ``batch_size``, ...)
    :param ranking_sample_every: every n-th captioned step goes into the ranking buffer (ONI: 10)
    :param ranking_pairs: pairs enqueued when the annotator's queue runs low (ONI: 10)
    :param ranking_buffer: captions kept for pair sampling at most (ONI: 10,000)
    :param ranking_dedup: keep each caption once in the ranking buffer (ONI's default is off; MiniGrid's few
        frequent captions would otherwise fill it with pick-up/drop)
    :param device: torch device of the reward models (``"auto"``: CUDA when available, the student's choice too)
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        reward_model: str = "retrieval",
        annotator: str = "llm",
        flip_prob: float = 0.0,
        c_ext: float = 1.0,
        c_int: float = 0.1,
        beta: float = 3.0,
        llm: LLMConfig | Mapping[str, Any] | None = None,
        client: LLMClient | None = None,
        llm_chat: bool = False,
        llm_max_tokens: int = 4,
        llm_concurrency: int = 2,
        few_labels: int = 25_000,
        steps_per_label_batch: int = 32,
        late_train_interval: int = 128,
        model_kwargs: Mapping[str, Any] | None = None,
        ranking_sample_every: int = 10,
        ranking_pairs: int = 10,
        ranking_buffer: int = 10_000,
        ranking_dedup: bool = True,
        device: str = "auto",
    ) -> None:
        super().__init__(seed)
        if reward_model not in REWARD_MODELS:
            raise ValueError(f"reward_model must be one of {REWARD_MODELS}, got {reward_model!r}")
        if annotator not in ANNOTATORS:
            raise ValueError(f"annotator must be one of {ANNOTATORS}, got {annotator!r}")
        if beta < 0 or c_int < 0:
            raise ValueError(f"beta and c_int must be >= 0, got beta={beta}, c_int={c_int}")
        for name, value in (
            ("steps_per_label_batch", steps_per_label_batch),
            ("late_train_interval", late_train_interval),
            ("ranking_sample_every", ranking_sample_every),
            ("ranking_pairs", ranking_pairs),
            ("ranking_buffer", ranking_buffer),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.reward_model_kind = reward_model
        self.annotator_kind = annotator
        self.flip_prob = flip_prob
        self.c_ext = float(c_ext)
        self.c_int = float(c_int)
        self.beta = float(beta)
        self.llm_config = llm if isinstance(llm, LLMConfig) or llm is None else LLMConfig.from_dict(llm)
        self.llm_chat = llm_chat
        self.llm_max_tokens = llm_max_tokens
        self.llm_concurrency = llm_concurrency
        self.few_labels = few_labels
        self.steps_per_label_batch = steps_per_label_batch
        self.late_train_interval = late_train_interval
        self.ranking_sample_every = ranking_sample_every
        self.ranking_pairs = ranking_pairs
        self.ranking_buffer = ranking_buffer
        self.ranking_dedup = ranking_dedup
        self.device = _resolve_device(device)
        self.model: RewardModel = make_reward_model(
            reward_model, device=self.device, seed=seed, **dict(model_kwargs or {})
        )
        self.flip_seed = seed

        # learned from the annotator: caption -> 0/1 (classification/retrieval); pairs live in the ranking model
        self.labels: dict[str, int] = {}
        self.captions_seen: Counter[str] = Counter()  # caption -> occurrences over training
        self.helpful_truth: dict[str, bool] = {}  # the env's ground truth, for the oracle's items only
        self.ranking_captions: list[str] = []
        self._ranking_set: set[str] = set()
        self.pairs_labelled = 0
        self.pairs_asked: set[tuple[str, str]] = set()
        self.ranked_captions: set[str] = set()  # captions in at least one labelled pair
        self.totals = dict.fromkeys(
            ("env_steps", "captioned_steps", "labelled_steps", "r_int_paid", "r_int_positive_steps", "train_calls"),
            0.0,
        )
        self._window = dict.fromkeys(("env_steps", "captioned_steps", "labelled_steps", "r_int"), 0.0)
        self.last_loss = math.nan
        self._steps_since_train = 0
        self._episode_counts: list[Counter[str]] = []

        self._client = client
        self._own_client = False
        self._server: EmbeddedLLMServer | None = None
        self.annotator: LabelSource | None = None
        self.annotator_restarts = 0
        self._closed_annotator_stats: dict[str, float] = {}
        self._closed_llm_stats: dict[str, float] = {}
        self.venv: ONIVecEnv | None = None

    # -- annotator lifetime -------------------------------------------------------------------------------------
    def start_annotator(self) -> LabelSource:
        """The annotator (started on first use: an oracle, or an LLM client, starting an embedded server if no
        config or client was given)."""
        if self.annotator is not None:
            return self.annotator
        if self.annotator_kind == "oracle":
            self.annotator = NoisyOracleAnnotator(self.flip_prob, seed=self.flip_seed)
        else:
            self.annotator = self._llm_annotator()
        if self.reward_model_kind != "ranking":
            # captions met before (a resumed run, an annotator restarted) but never labelled are asked again now,
            # not only when the agent happens to meet them again
            unlabelled = [c for c in self.captions_seen if c not in self.labels]
            self.annotator.submit([label_item(c, self.helpful_truth.get(c)) for c in unlabelled])
        return self.annotator

    def _llm_annotator(self) -> Annotator[str]:
        if self._client is None:
            config = self.llm_config
            if config is None:
                self._server = EmbeddedLLMServer().start()
                config = self._server.config()
            self._client = LLMClient(config)
            self._own_client = True
        reply = PREFERENCE_REPLY if self.reward_model_kind == "ranking" else LABEL_REPLY
        return Annotator(
            self._client, reply, chat=self.llm_chat, max_tokens=self.llm_max_tokens, concurrency=self.llm_concurrency
        )

    @property
    def client(self) -> LLMClient | None:
        """The LLM client, when the annotator is an LLM."""
        return self._client

    def close(self) -> None:
        """Stop the annotator, and the client and server this teacher started. Idempotent. Labels, model and
        counters stay; stepping the wrapped ``VecEnv`` again (training continued) starts a new annotator."""
        if self.annotator is not None:
            self.annotator.close(timeout=30)
            for key, value in self.annotator.stats().items():  # its counters stay in the totals
                self._closed_annotator_stats[key] = self._closed_annotator_stats.get(key, 0.0) + value
            self.annotator = None
        if self._own_client and self._client is not None:
            for key, value in self._client.stats.snapshot().items():
                self._closed_llm_stats[key] = self._closed_llm_stats.get(key, 0.0) + value
            self._client.close()
            self._client = None  # a restart builds a new one
            self._own_client = False
        if self._server is not None:
            self._server.stop()
            self._server = None

    # -- the composition hook -----------------------------------------------------------------------------------
    def wrap_vec_env(self, venv: VecEnv) -> VecEnv:
        self.start_annotator()
        self.venv = ONIVecEnv(venv, self)
        return self.venv

    # -- what the wrapper calls, once per VecEnv step -----------------------------------------------------------
    def intrinsic_rewards(self, captions: Sequence[str], infos: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The count-decayed intrinsic reward of each env's step (before ``c_int``), and the bookkeeping that goes
        with it: per-episode counts, new captions to the annotator, new labels into the model, training.

        :param captions: each env's caption of this step (``""``: nothing happened)
        :param infos: each env's info of this step (``caption_helpful`` is read for the noisy oracle)
        """
        n_envs = len(captions)
        if len(self._episode_counts) != n_envs:
            self._episode_counts = [Counter() for _ in range(n_envs)]
        if self.annotator is None:  # closed at the end of a previous learn(): training continues
            self.annotator_restarts += 1
            try:
                self.start_annotator()
            except Exception as err:  # e.g. the embedded server does not come back: no labels, no crash
                logger.warning("ONI: the annotator did not restart (%s); new captions pay 0", err)
                self.annotator = _NoAnnotator()
        self._ingest_labels()
        r_int = np.zeros(n_envs, dtype=np.float32)
        active = [i for i, c in enumerate(captions) if c]
        self.totals["env_steps"] += n_envs
        self._window["env_steps"] += n_envs
        if active:
            texts = [captions[i] for i in active]
            model_rewards = self.model.rewards(texts)
            to_label: list[Item] = []
            for j, i in enumerate(active):
                caption = texts[j]
                counts = self._episode_counts[i]
                counts[caption] += 1
                self.captions_seen[caption] += 1
                helpful = infos[i].get("caption_helpful")
                if isinstance(helpful, bool | np.bool_) and caption not in self.helpful_truth:
                    self.helpful_truth[caption] = bool(helpful)
                labelled = self._is_labelled(caption)
                self._window["labelled_steps"] += labelled
                self.totals["labelled_steps"] += labelled
                if self.reward_model_kind == "ranking":
                    self._buffer_for_ranking(caption)
                elif not labelled:
                    to_label.append(label_item(caption, self.helpful_truth.get(caption)))
                r_int[i] = model_rewards[j] / counts[caption] ** self.beta
            if to_label:
                assert self.annotator is not None
                self.annotator.submit(to_label)
            self.totals["captioned_steps"] += len(active)
            self._window["captioned_steps"] += len(active)
            paid = float(r_int.sum())
            self.totals["r_int_paid"] += paid
            self.totals["r_int_positive_steps"] += int((r_int > 0).sum())
            self._window["r_int"] += paid
        if self.reward_model_kind == "ranking":
            self._request_pairs()
        self._late_training(n_envs)
        return r_int

    def end_episodes(self, dones: np.ndarray) -> None:
        """Reset the per-episode caption counts of the envs whose episode ended."""
        for i in np.flatnonzero(dones):
            if i < len(self._episode_counts):
                self._episode_counts[i].clear()

    def reset_episodes(self) -> None:
        """Reset every env's per-episode counts (a ``VecEnv.reset``)."""
        for counts in self._episode_counts:
            counts.clear()

    # -- labels and training ------------------------------------------------------------------------------------
    def _is_labelled(self, caption: str) -> bool:
        if self.reward_model_kind == "ranking":
            return caption in self.ranked_captions
        return caption in self.labels

    def _ingest_labels(self) -> None:
        if self.annotator is None:
            return
        new = self.annotator.poll()
        if not new:
            return
        if self.reward_model_kind == "ranking":
            preferences = []
            for key, answer in new.items():
                if isinstance(key, tuple) and len(key) == 2 and answer in PREFERENCE_VALUE:
                    preferences.append((str(key[0]), str(key[1]), PREFERENCE_VALUE[answer]))
            assert isinstance(self.model, RankingRewardModel)
            self.model.add_preferences(preferences)
            for first, second, _ in preferences:
                self.ranked_captions.update((first, second))
            self.pairs_labelled += len(preferences)
            n_labels = len(self.model.pairs)
        else:
            labels = {str(k): int(v == HELPFUL) for k, v in new.items() if v in (HELPFUL, UNHELPFUL)}
            self.labels.update(labels)
            model = self.model
            assert isinstance(model, RetrievalRewardModel | ClassificationRewardModel)
            model.add_labels(labels)
            n_labels = len(self.labels)
        if n_labels < self.few_labels:
            self._train(self.steps_per_label_batch)

    def _train(self, n_steps: int) -> None:
        model = self.model
        if isinstance(model, ClassificationRewardModel | RankingRewardModel):
            self.last_loss = model.train_steps(n_steps)
            self.totals["train_calls"] += 1
        self._steps_since_train = 0

    def _late_training(self, n_envs: int) -> None:
        if isinstance(self.model, RetrievalRewardModel):
            return
        self._steps_since_train += n_envs
        n_labels = len(self.model.pairs) if isinstance(self.model, RankingRewardModel) else len(self.labels)
        if n_labels >= self.few_labels and self._steps_since_train >= self.late_train_interval:
            self._train(1)

    def _buffer_for_ranking(self, caption: str) -> None:
        if int(self.captions_seen[caption]) % self.ranking_sample_every != 1 and self.ranking_sample_every > 1:
            # every n-th occurrence of a caption, starting with its first
            return
        if self.ranking_dedup and caption in self._ranking_set:
            return
        if len(self.ranking_captions) >= self.ranking_buffer:
            evicted = self.ranking_captions.pop(int(self.rng.integers(len(self.ranking_captions))))
            self._ranking_set.discard(evicted)
        self.ranking_captions.append(caption)
        self._ranking_set.add(caption)

    def _request_pairs(self) -> None:
        annotator = self.annotator
        if annotator is None or len(self._ranking_set) < 2:
            return
        # cheap check first: the oracle answers at once; an LLM queue is read at most every 16 steps
        if self.totals["env_steps"] % 16 and not isinstance(annotator, NoisyOracleAnnotator):
            return
        batch = getattr(annotator, "batch_size", self.ranking_pairs)
        if annotator.stats()["queue_len"] >= 2 * batch:
            return
        items = []
        for _ in range(self.ranking_pairs * 3):
            i, j = self.rng.choice(len(self.ranking_captions), size=2, replace=False)
            first, second = sorted((self.ranking_captions[int(i)], self.ranking_captions[int(j)]))
            if first == second or (first, second) in self.pairs_asked:
                continue
            self.pairs_asked.add((first, second))
            truth = (self.helpful_truth.get(first), self.helpful_truth.get(second))
            items.append(preference_item(first, second, truth))
            if len(items) >= self.ranking_pairs:
                break
        if items:
            annotator.submit(items)

    # -- reporting ----------------------------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        """Counters and, since the previous call, the mean intrinsic reward per env step, the share of env steps
        with a caption and the label coverage (share of captioned steps whose caption had a label);
        ``label_coverage_total`` is the coverage over all of training; ``annotator_*`` and ``llm_*`` are the
        annotator's and the LLM client's counters (queue depth, requests sent, failures, breaker openings...)."""
        window = self._window
        out = {
            **super().scalars(),
            "r_int_mean": window["r_int"] / max(window["env_steps"], 1.0),
            "caption_rate": window["captioned_steps"] / max(window["env_steps"], 1.0),
            "label_coverage": window["labelled_steps"] / max(window["captioned_steps"], 1.0),
            "label_coverage_total": self.totals["labelled_steps"] / max(self.totals["captioned_steps"], 1.0),
            "unique_captions": float(len(self.captions_seen)),
            "labels": float(len(self.labels)),
            "positive_labels": float(sum(self.labels.values())),
            "pairs_labelled": float(self.pairs_labelled),
            "annotator_restarts": float(self.annotator_restarts),
            "gradient_steps": float(self.model.gradient_steps),
            "model_loss": self.last_loss,
            "r_int_paid_total": self.totals["r_int_paid"],
        }
        self._window = dict.fromkeys(self._window, 0.0)
        for key, value in self.annotator_stats().items():
            out[f"annotator_{key}"] = value
        llm_stats = dict(self._closed_llm_stats)
        if self._client is not None:
            for key, value in self._client.stats.snapshot().items():
                llm_stats[key] = llm_stats.get(key, 0.0) + value
        for key, value in llm_stats.items():
            out[f"llm_{key}"] = value
        return out

    def annotator_stats(self) -> dict[str, float]:
        """The annotator's counters over the whole run (annotators closed at the end of an earlier ``learn``
        included); ``queue_len`` and ``in_flight`` are the current annotator's."""
        current = self.annotator.stats() if self.annotator is not None else {}
        out = {k: v for k, v in self._closed_annotator_stats.items() if k not in ("queue_len", "in_flight")}
        for key, value in current.items():
            out[key] = value if key in ("queue_len", "in_flight") else out.get(key, 0.0) + value
        out.setdefault("queue_len", 0.0)
        out.setdefault("in_flight", 0.0)
        return out

    def end_of_training_warnings(self) -> list[str]:
        warnings = []
        stats = self.annotator_stats()
        if self.annotator is not None or self._closed_annotator_stats:
            got = self.pairs_labelled if self.reward_model_kind == "ranking" else len(self.labels)
            if self.captions_seen and got == 0:
                warnings.append(
                    f"ONI: the {self.annotator_kind} annotator labelled nothing ({int(stats.get('failed', 0))} failed "
                    f"requests): no intrinsic reward was paid"
                )
            elif stats.get("failed", 0) > 0:
                warnings.append(f"ONI: {int(stats['failed'])} annotator requests failed (their captions paid 0)")
        return warnings

    # -- state --------------------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            **super()._state(),
            "reward_model_kind": self.reward_model_kind,
            "labels": [[c, v] for c, v in self.labels.items()],
            "model": self.model.state_dict(),
            "captions_seen": [[c, n] for c, n in self.captions_seen.items()],
            "helpful_truth": [[c, h] for c, h in self.helpful_truth.items()],
            "ranking_captions": list(self.ranking_captions),
            "pairs_asked": [list(p) for p in sorted(self.pairs_asked)],
            "pairs_labelled": self.pairs_labelled,
            "totals": dict(self.totals),
            "episode_counts": [[[c, n] for c, n in counts.items()] for counts in self._episode_counts],
            "steps_since_train": self._steps_since_train,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        if state["reward_model_kind"] != self.reward_model_kind:
            raise ValueError(
                f"state has a {state['reward_model_kind']!r} reward model, this is {self.reward_model_kind!r}"
            )
        self.labels = {str(c): int(v) for c, v in state["labels"]}
        self.model.load_state_dict(state["model"])
        self.captions_seen = Counter({str(c): int(n) for c, n in state["captions_seen"]})
        self.helpful_truth = {str(c): bool(h) for c, h in state["helpful_truth"]}
        self.ranking_captions = [str(c) for c in state["ranking_captions"]]
        self._ranking_set = set(self.ranking_captions)
        self.pairs_asked = {(str(a), str(b)) for a, b in state["pairs_asked"]}
        self.pairs_labelled = int(state["pairs_labelled"])
        self.totals = {k: float(v) for k, v in state["totals"].items()}
        self._episode_counts = [Counter({str(c): int(n) for c, n in env}) for env in state["episode_counts"]]
        self._steps_since_train = int(state["steps_since_train"])
        pairs = self.model.pairs if isinstance(self.model, RankingRewardModel) else []
        self.ranked_captions = {c for a, b, _ in pairs for c in (a, b)}


class ONIVecEnv(VecEnvWrapper):
    """ONI's learner-side part: reads every env's ``info["caption"]`` and adds ``c_int * r_int`` to the scaled env
    reward, one batch per step. Each info gets ``oni_r_int`` (the decayed intrinsic reward before ``c_int``) and
    ``oni_r_ext`` (the env's own reward); the env's return as the ``TaskEnv`` recorded it is untouched.

    :param venv: the training ``VecEnv`` (its envs put ``info["caption"]``; a missing caption counts as ``""``)
    :param teacher: the ONI teacher whose labels, model and counters this wrapper uses
    """

    def __init__(self, venv: VecEnv, teacher: ONITeacher) -> None:
        super().__init__(venv)
        self.teacher = teacher
        self.step_seconds = 0.0  # time spent in ONI per step (the LLM's latency never lands here)

    def reset(self) -> Any:
        self.teacher.reset_episodes()
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        started = time.perf_counter()
        captions = [str(info.get("caption") or "") for info in infos]
        r_int = self.teacher.intrinsic_rewards(captions, infos)
        for info, r_i, r_e in zip(infos, r_int.tolist(), rewards.tolist(), strict=True):
            info["oni_r_int"] = r_i
            info["oni_r_ext"] = r_e
        self.teacher.end_episodes(dones)
        shaped = self.teacher.c_ext * rewards + self.teacher.c_int * r_int
        self.step_seconds += time.perf_counter() - started
        return obs, shaped.astype(rewards.dtype, copy=False), dones, infos
