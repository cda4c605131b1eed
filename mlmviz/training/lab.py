"""The "Train the head" page's job: cache, train, and publish what a class watches.

`head_job(model, run)` is the `work(job)` the page submits to
`mlmviz.training.jobs.QUEUE`. It caches the frozen encoder's hidden states
(`head.cache_states`, the training corpus and the held-out sample), trains
a fresh head on them (`head.HeadTraining`) until the time limit or the
job's stop, and publishes after every point of the curve:

- `phase`: "caching", "preparing" (held-out states, the fresh head), then
  "training"; `cached`: `(done, total)` positions
  of the training corpus read so far;
- `curve`: the `head.Point`s so far;
- `probes`: the top answers of the head as trained so far at each probe
  sentence's first mask (`Answer`s, best first);
- `head_check`: the `HeadCheck` of that head;
- `baseline`: the held-out accuracy of always answering the most frequent
  training word (what a head that learnt only its bias reaches).

It returns the trained `MaskedLM` (the base encoder and the new head), or
None when it was stopped before training began. The cached states are the
job's own: they are released when it returns.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from mlmviz.distributions import softmax
from mlmviz.model import check_head
from mlmviz.training import head as head_training

PROBE_ANSWERS = 3


@dataclass(frozen=True)
class LabRun:
    """What one training on the page runs with.

    Attributes:
        settings: the head's `head.HeadSettings`.
        seconds: the time limit of the training (after the caching).
        positions: masked positions cached from the training corpus.
        heldout_positions: masked positions cached from the held-out sample.
        probes: sentences with the model's mask token, answered at each point.
        every: training steps between two points of the curve.
    """

    settings: object
    seconds: float
    positions: int
    heldout_positions: int
    probes: tuple
    every: int = 50


class Answer(NamedTuple):
    token: str
    probability: float


class Probes:
    """The probe sentences' hidden states at their first mask, gathered once.

    The encoder is frozen, so these states never change: each answer is
    the head alone applied to them.
    """

    def __init__(self, model, sentences):
        self.vocabulary = model.vocabulary
        states = [model.stages(model.mask(text))["gathered"][:, :1] for text in sentences]
        self.gathered = np.concatenate(states, axis=1)  # (1, probes, hidden)

    def answers(self, head, k=PROBE_ANSWERS):
        """Per probe sentence, the `k` most probable tokens of `head` (`Answer`s)."""
        positions = np.arange(self.gathered.shape[1], dtype="int32")[None]  # (1, probes)
        logits = head.stages(self.gathered, positions)["logits"][0]  # (probes, vocab) float32
        probabilities = softmax(logits)  # (probes, vocab)
        best = np.argsort(-probabilities, axis=-1)[:, :k]  # (probes, k)
        return [[Answer(self.vocabulary[i], float(row[i])) for i in ids]
                for row, ids in zip(probabilities, best)]


def head_job(model, run, corpus=None, heldout=None):
    """The `work(job)` that trains a fresh head on `model`'s frozen encoder.

    Args:
        model: the loaded `MaskedLM` (not changed).
        run: a `LabRun`.
        corpus, heldout: lists of lines (default: `head.default_corpus()`
            and `head.heldout_corpus()`).
    """
    def work(job):
        probes = Probes(model, run.probes)
        job.publish(phase="caching", cached=(0, run.positions), curve=[], probes=None,
                    head_check=None, baseline=None)
        seed = run.settings.seed
        try:
            train = head_training.cache_states(
                model, corpus or head_training.default_corpus(), max_positions=run.positions,
                seed=seed, stop=job.stop, on_progress=lambda done, total: job.publish(
                    cached=(done, total)))
            job.publish(phase="preparing")
            held = head_training.cache_states(
                model, heldout or head_training.heldout_corpus(),
                max_positions=run.heldout_positions, seed=seed + 1, stop=job.stop)
        except head_training.Stopped:
            return None
        if job.stop.is_set():  # set after the last encoder call
            return None
        training = head_training.HeadTraining(model, train, held, run.settings)
        del train, held  # the training holds them until this returns
        head = training.model.head  # read between two steps, on this thread

        def publish(point=None):
            job.publish(phase="training", curve=list(training.curve),
                        probes=probes.answers(head), head_check=check_head(head),
                        baseline=training.baseline_accuracy)

        publish()
        training.run(seconds=run.seconds, stop=job.stop, on_point=publish, every=run.every)
        return training.current_model()
    return work
