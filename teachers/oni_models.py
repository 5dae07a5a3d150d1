"""ONI's three reward models over captions: retrieval (a table), classification and ranking (small torch models
trained incrementally in the learner process).

- :class:`RetrievalRewardModel`: the LLM's label of a caption, looked up; an unlabelled caption pays 0.
- :class:`ClassificationRewardModel`: a character-level CNN classifier trained with cross-entropy on
  (caption, label); reward ``1[p(helpful) > threshold]``. It generalises to captions the LLM has not labelled yet.
- :class:`RankingRewardModel`: the same encoder with a scalar head, trained with a Bradley-Terry loss on the LLM's
  pairwise preferences (soft labels, a tie is 0.5); reward = the score normalised by running statistics, and zero
  below ``threshold`` (normalised units). The released ONI code computes this normalised, thresholded value into
  a misspelled variable and lets the *raw* score reach the return; here the normalised value is what is returned,
  and a test checks it.

All models answer :meth:`rewards` for a list of captions, cached per caption until the model changes, so the per
step cost in training is a dictionary lookup. A model that has not been trained yet pays 0 for every caption.
State is JSON values and NumPy arrays (weights and Adam moments included), for checkpoints.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: captions are read as bytes, truncated to this many (MiniGrid captions are < 60 bytes)
MAX_CAPTION_BYTES = 64


def encode_captions(captions: Sequence[str], max_bytes: int = MAX_CAPTION_BYTES) -> torch.Tensor:
    """Captions as byte ids (1..256, 0 = padding), shape ``(len(captions), max_bytes)``.

    :param captions: the captions
    :param max_bytes: bytes kept per caption
    """
    out = np.zeros((len(captions), max_bytes), dtype=np.int64)
    for row, caption in enumerate(captions):
        data = np.frombuffer(caption.encode("utf-8")[:max_bytes], dtype=np.uint8)
        out[row, : len(data)] = data.astype(np.int64) + 1
    return torch.from_numpy(out)


class CharCNN(nn.Module):
    """ONI's caption encoder, scaled down: byte embedding, Conv1d stack with max-pooling, global max-pool, MLP.

    ONI's NetHack model (kernels 7,7,3,3,3,3, 64 channels, MLP 512-512) is sized for 256-byte messages and a GPU
    learner; MiniGrid captions are short and few, and the model trains in the learner process (on 2 CPU cores,
    beside PPO), so two conv layers of 32 channels and a 64-unit MLP: one training step on the
    ~85 labelled captions of the toy tests takes ~30 ms on one thread of a heavily loaded 2-core machine.

    :param n_outputs: output units (2: classification logits; 1: a ranking score)
    :param embed_dim: byte embedding size
    :param channels: conv channels
    :param hidden: MLP width
    :param dropout: dropout before the output layer (ONI: 0.1)
    """

    def __init__(
        self, n_outputs: int, embed_dim: int = 16, channels: int = 32, hidden: int = 64, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(257, embed_dim, padding_idx=0)
        self.convs = nn.Sequential(
            nn.Conv1d(embed_dim, channels, kernel_size=7, padding=3),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(channels, channels, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_outputs)
        )

    def forward(self, byte_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(byte_ids).transpose(1, 2)  # (batch, embed, length)
        x = self.convs(x).amax(dim=2)  # global max-pool over positions
        return self.head(x)


def _module_state(module: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def _optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    state = optimizer.state_dict()
    return {
        "state": {
            str(idx): {k: (v.detach().cpu().numpy().copy() if torch.is_tensor(v) else v) for k, v in s.items()}
            for idx, s in state["state"].items()
        },
        "param_groups": state["param_groups"],
    }


def _load_optimizer_state(optimizer: torch.optim.Optimizer, saved: Mapping[str, Any], device: torch.device) -> None:
    state: dict[int, dict[str, Any]] = {}
    for idx, s in saved["state"].items():
        # Adam keeps ``step`` as a CPU tensor and its moments on the parameters' device
        state[int(idx)] = {
            k: torch.as_tensor(np.asarray(v), device="cpu" if k == "step" else device) for k, v in s.items()
        }
    optimizer.load_state_dict({"state": state, "param_groups": list(saved["param_groups"])})


class RewardModel(ABC):
    """A caption -> reward mapping that learns from LLM feedback.

    :param kind: ``"retrieval"``, ``"classification"`` or ``"ranking"``
    """

    kind = ""

    def __init__(self) -> None:
        self.version = 0  # bumped whenever rewards may change; invalidates the cache
        self._cache: dict[str, float] = {}
        self._cache_version = -1
        self.gradient_steps = 0

    @property
    def ready(self) -> bool:
        """Whether the model has learned anything (an untrained model pays 0)."""
        return self.version > 0

    def rewards(self, captions: Sequence[str]) -> np.ndarray:
        """The reward of each caption (float32), before the count decay.

        :param captions: non-empty captions
        """
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        missing = [c for c in dict.fromkeys(captions) if c not in self._cache]
        if missing:
            values = self._compute(missing) if self.ready else np.zeros(len(missing), dtype=np.float32)
            self._cache.update(zip(missing, values.tolist(), strict=True))
        return np.array([self._cache[c] for c in captions], dtype=np.float32)

    @abstractmethod
    def _compute(self, captions: list[str]) -> np.ndarray:
        """Rewards of captions not in the cache (only called once the model is ready)."""

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "gradient_steps": self.gradient_steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state["kind"] != self.kind:
            raise ValueError(f"state is for a {state['kind']!r} reward model, this is {self.kind!r}")
        self.version = int(state["version"])
        self.gradient_steps = int(state["gradient_steps"])
        self._cache_version = -1


class RetrievalRewardModel(RewardModel):
    """ONI-retrieval: the label of the caption itself (1 helpful, 0 not), 0 while it has none."""

    kind = "retrieval"

    def __init__(self) -> None:
        super().__init__()
        self.labels: dict[str, int] = {}

    def add_labels(self, labels: Mapping[str, int]) -> None:
        """Learn new (caption, label) pairs.

        :param labels: caption -> 0/1
        """
        if labels:
            self.labels.update(labels)
            self.version += 1

    def _compute(self, captions: list[str]) -> np.ndarray:
        return np.array([float(self.labels.get(c, 0)) for c in captions], dtype=np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "labels": [[c, int(v)] for c, v in self.labels.items()]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.labels = {str(c): int(v) for c, v in state["labels"]}


class _TorchRewardModel(RewardModel):
    """Shared parts of the trained models: the network, Adam, minibatch sampling, state.

    :param n_outputs: the network's outputs
    :param lr: Adam learning rate
    :param batch_size: minibatch size
    :param grad_clip: gradient-norm clip (None: none)
    :param device: torch device
    :param seed: seeds the network's initialisation and minibatch sampling
    """

    def __init__(
        self,
        n_outputs: int,
        lr: float,
        batch_size: int,
        grad_clip: float | None,
        device: str | torch.device,
        seed: int,
    ) -> None:
        super().__init__()
        self.device = torch.device(device)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)  # a seeded init without disturbing the caller's global RNG stream
        self.net = CharCNN(n_outputs).to(self.device)
        torch.random.set_rng_state(generator_state)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.batch_size = batch_size
        self.grad_clip = grad_clip
        self.rng = np.random.default_rng(seed)
        self._encoded: dict[str, torch.Tensor] = {}

    def _encode(self, captions: Sequence[str]) -> torch.Tensor:
        rows = []
        for caption in captions:
            row = self._encoded.get(caption)
            if row is None:
                row = self._encoded[caption] = encode_captions([caption])[0]
            rows.append(row)
        return torch.stack(rows).to(self.device)

    @contextlib.contextmanager
    def _seeded(self) -> Iterator[None]:
        """Seed torch's RNG (dropout) from this model's own RNG for one training call: training is reproducible
        from the model's state alone, and the caller's global torch RNG stream is left as it was."""
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(self.rng.integers(2**31)))
            yield

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip)
        self.optimizer.step()
        self.gradient_steps += 1

    @torch.no_grad()
    def _forward_eval(self, captions: Sequence[str]) -> torch.Tensor:
        self.net.eval()
        out = self.net(self._encode(captions))
        self.net.train()
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "net": _module_state(self.net),
            "optimizer": _optimizer_state(self.optimizer),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.net.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state["net"].items()})
        _load_optimizer_state(self.optimizer, state["optimizer"], self.device)
        self.rng.bit_generator.state = dict(state["rng"])


class ClassificationRewardModel(_TorchRewardModel):
    """ONI-classification: a caption classifier trained on the LLM's labels; reward ``1[p(helpful) > threshold]``.

    :param threshold: the probability above which a caption pays 1 (ONI ``--classification_threshold``: 0.5)
    :param lr: Adam learning rate (ONI: 1e-4 with a GPU learner and many labels; 1e-3 here, see docs/oni.md)
    :param batch_size: minibatch size (ONI: 256)
    :param device: torch device
    :param seed: initialisation and minibatch seed
    """

    kind = "classification"

    def __init__(
        self,
        threshold: float = 0.5,
        lr: float = 1e-3,
        batch_size: int = 256,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        super().__init__(2, lr, batch_size, None, device, seed)
        self.threshold = threshold
        self.captions: list[str] = []
        self.labels: list[int] = []
        self._index: dict[str, int] = {}

    def add_labels(self, labels: Mapping[str, int]) -> None:
        """Add (caption, label) pairs to the training set (a relabelled caption keeps its newest label).

        :param labels: caption -> 0/1
        """
        for caption, label in labels.items():
            if caption in self._index:
                self.labels[self._index[caption]] = int(label)
            else:
                self._index[caption] = len(self.captions)
                self.captions.append(caption)
                self.labels.append(int(label))

    def train_steps(self, n_steps: int) -> float:
        """Take ``n_steps`` cross-entropy steps on minibatches of the labelled captions.

        :return: the last minibatch's loss (nan when there is nothing to train on)
        """
        if not self.captions or n_steps <= 0:
            return math.nan
        targets_all = torch.tensor(self.labels, dtype=torch.long, device=self.device)
        loss = torch.zeros(())
        with self._seeded():
            for _ in range(n_steps):
                # all labelled captions when they fit in one minibatch (MiniGrid has a few dozen), else a sample
                if len(self.captions) <= self.batch_size:
                    idx = np.arange(len(self.captions))
                else:
                    idx = self.rng.choice(len(self.captions), size=self.batch_size, replace=False)
                logits = self.net(self._encode([self.captions[i] for i in idx]))
                loss = F.cross_entropy(logits, targets_all[torch.from_numpy(idx).to(self.device)])
                self._step(loss)
        self.version += 1
        return float(loss.detach())

    def probabilities(self, captions: Sequence[str]) -> np.ndarray:
        """p(helpful) of each caption."""
        return torch.softmax(self._forward_eval(captions), dim=1)[:, 1].cpu().numpy()

    def _compute(self, captions: list[str]) -> np.ndarray:
        return (self.probabilities(captions) > self.threshold).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "labels": [[c, v] for c, v in zip(self.captions, self.labels, strict=True)]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.captions, self.labels, self._index = [], [], {}
        self.add_labels({str(c): int(v) for c, v in state["labels"]})


class RankingRewardModel(_TorchRewardModel):
    """ONI-ranking (Motif's reward): a caption score trained with a Bradley-Terry loss on pairwise preferences.

    The reward is the score normalised by a running mean and standard deviation of the scores of the captions the
    agent meets (:meth:`observe`), and 0 where the normalised score is below ``threshold``.

    :param threshold: normalised score below which the reward is 0 (ONI ``eps_threshold_quantile``: -0.5)
    :param lr: Adam learning rate (ONI: 1e-4; 1e-3 here, see docs/oni.md)
    :param batch_size: minibatch size of pairs (ONI: 256)
    :param grad_clip: gradient-norm clip (ONI: 10)
    :param device: torch device
    :param seed: initialisation and minibatch seed
    """

    kind = "ranking"

    def __init__(
        self,
        threshold: float = -0.5,
        lr: float = 1e-3,
        batch_size: int = 256,
        grad_clip: float = 10.0,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        super().__init__(1, lr, batch_size, grad_clip, device, seed)
        self.threshold = threshold
        self.pairs: list[tuple[str, str, float]] = []
        # running statistics of raw scores (Welford over the observed captions)
        self.count = 0.0
        self.mean = 0.0
        self.m2 = 0.0

    def add_preferences(self, preferences: Sequence[tuple[str, str, float]]) -> None:
        """Add pairwise preferences.

        :param preferences: ``(a, b, p)`` with p = P(a preferred to b): 1, 0, or 0.5 for a tie
        """
        self.pairs.extend((str(a), str(b), float(p)) for a, b, p in preferences)

    def train_steps(self, n_steps: int) -> float:
        """Take ``n_steps`` Bradley-Terry steps (soft-label cross-entropy on score differences).

        :return: the last minibatch's loss (nan when there is nothing to train on)
        """
        if not self.pairs or n_steps <= 0:
            return math.nan
        loss = torch.zeros(())
        with self._seeded():
            for _ in range(n_steps):
                idx = self.rng.integers(0, len(self.pairs), size=min(self.batch_size, len(self.pairs)))
                batch = [self.pairs[i] for i in idx]
                # score each distinct caption of the minibatch once: pairs share captions heavily
                distinct = list(dict.fromkeys(c for a, b, _ in batch for c in (a, b)))
                position = {c: k for k, c in enumerate(distinct)}
                scores = self.net(self._encode(distinct)).squeeze(1)
                first = scores[torch.tensor([position[a] for a, _, _ in batch], device=self.device)]
                second = scores[torch.tensor([position[b] for _, b, _ in batch], device=self.device)]
                target = torch.tensor([p for _, _, p in batch], dtype=torch.float32, device=self.device)
                loss = F.binary_cross_entropy_with_logits(first - second, target)
                self._step(loss)
        self.version += 1
        return float(loss.detach())

    def scores(self, captions: Sequence[str]) -> np.ndarray:
        """Raw Bradley-Terry scores r_phi(caption)."""
        return self._forward_eval(captions).squeeze(1).cpu().numpy()

    def observe(self, raw_scores: np.ndarray) -> None:
        """Update the running statistics with the raw scores of captions the agent met.

        :param raw_scores: raw scores, one per caption occurrence
        """
        for value in np.asarray(raw_scores, dtype=np.float64).ravel():
            self.count += 1.0
            delta = value - self.mean
            self.mean += delta / self.count
            self.m2 += delta * (value - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count > 1 else 1.0

    def normalise(self, raw_scores: np.ndarray) -> np.ndarray:
        """Normalised, thresholded rewards of raw scores (the value ONI's released code meant to return)."""
        normalised = (np.asarray(raw_scores, dtype=np.float64) - self.mean) / max(self.std, 1e-8)
        return np.where(normalised < self.threshold, 0.0, normalised).astype(np.float32)

    def raw_scores_cached(self, captions: Sequence[str]) -> np.ndarray:
        """Raw scores through the per-caption cache (0 before any training)."""
        return super().rewards(captions)

    def rewards(self, captions: Sequence[str]) -> np.ndarray:
        """Normalised, thresholded rewards; the running statistics are updated with these captions' raw scores."""
        raw = self.raw_scores_cached(captions)
        if not self.ready:
            return np.zeros(len(captions), dtype=np.float32)
        self.observe(raw)
        return self.normalise(raw)

    def _compute(self, captions: list[str]) -> np.ndarray:
        return self.scores(captions).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "pairs": [[a, b, p] for a, b, p in self.pairs],
            "running": [self.count, self.mean, self.m2],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.pairs = [(str(a), str(b), float(p)) for a, b, p in state["pairs"]]
        self.count, self.mean, self.m2 = (float(v) for v in state["running"])


def make_reward_model(kind: str, device: str | torch.device = "cpu", seed: int = 0, **kwargs: Any) -> RewardModel:
    """Build a reward model by kind.

    :param kind: ``"retrieval"``, ``"classification"`` or ``"ranking"``
    :param device: torch device of the trained models
    :param seed: their seed
    :param kwargs: the model's own options (``threshold``, ``lr``, ``batch_size``, ...)
    """
    if kind == "retrieval":
        if kwargs:
            raise ValueError(f"the retrieval model takes no options, got {sorted(kwargs)}")
        return RetrievalRewardModel()
    if kind == "classification":
        return ClassificationRewardModel(device=device, seed=seed, **kwargs)
    if kind == "ranking":
        return RankingRewardModel(device=device, seed=seed, **kwargs)
    raise ValueError(f"reward model must be 'retrieval', 'classification' or 'ranking', got {kind!r}")
