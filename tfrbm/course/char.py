"""Character-level LSTM language model on tiny-shakespeare (the course's char-rnn lab).

Embedding -> 2 LSTMs of 128 -> dense logits over the characters, trained statefully on 50-step
windows of 60 streams with Adam at 2e-3 decayed by 0.97 per epoch and gradients clipped at global
norm 5. The lab's model was a vanilla RNN that never ran; this one is a real LSTM.

Validation quality is reported in bits per character, ``bpc = mean(-log2 p(next char))``.
Sampling (:meth:`CharLanguageModel.sample`) follows the lab's three modes: ``argmax`` (0),
``weighted`` (1) and ``weighted-after-space`` (2: draw only right after a space, else argmax),
with a temperature T that sharpens (T < 1) or flattens (T > 1) ``p_i ∝ exp(logit_i / T)``.
"""
import keras

from tfrbm.course.language import (Perplexity, ResetStatesCallback, StatefulLSTMModel,
                                   StepDecaySchedule)

from tfrbm.errors import UserError
__all__ = ["CHAR_CONFIG", "CharLanguageModel", "build_char_model", "compile_char_model",
           "BitsPerCharacter", "SAMPLING_MODES"]

SAMPLING_MODES = ("argmax", "weighted", "weighted-after-space")

CHAR_CONFIG = dict(hidden_sizes=(128, 128), embedding_dim=128, num_steps=50, batch_size=60,
                   learning_rate=2e-3, lr_decay=0.97, clipnorm=5.0, epochs=50, dropout=0.0)


@keras.saving.register_keras_serializable(package="tfrbm")
class BitsPerCharacter(Perplexity):
    """Mean cross-entropy of next-character logits in bits: ``mean(-log2 p)``."""

    def __init__(self, name="bits_per_char", **kwargs):
        kwargs.pop("log", None)
        kwargs.pop("base", None)
        super().__init__(name=name, log=True, base=2.0, **kwargs)


@keras.saving.register_keras_serializable(package="tfrbm")
class CharLanguageModel(StatefulLSTMModel):
    """A stateful character LSTM whose ``vocabulary`` is the list of characters (id = position)."""

    def sample(self, prime="The ", n=200, mode="weighted", temperature=1.0, seed=None):
        """``prime`` followed by ``n`` sampled characters (``mode`` one of :data:`SAMPLING_MODES`)."""
        if self.vocabulary is None:
            raise UserError("this model has no vocabulary; pass vocabulary= when building it")
        if mode not in SAMPLING_MODES:
            raise UserError(f"unknown sampling mode {mode!r}; choose one of "
                             + ", ".join(repr(m) for m in SAMPLING_MODES))
        if not prime:
            raise UserError("prime must contain at least one character")
        lookup = {c: i for i, c in enumerate(self.vocabulary)}
        unknown = sorted(set(prime) - set(lookup))
        if unknown:
            raise UserError(f"prime has characters {unknown!r} that are not in the vocabulary")
        ids = self.sample_ids([lookup[c] for c in prime], n, mode=mode, temperature=temperature,
                              space_id=lookup.get(" ", -1), seed=seed)
        return prime + "".join(self.vocabulary[i] for i in ids)


def build_char_model(vocabulary, **overrides):
    """A :class:`CharLanguageModel` for :data:`CHAR_CONFIG` (``overrides`` change entries).

    Returns ``(model, cfg)``; compile with :func:`compile_char_model`.
    """
    cfg = dict(CHAR_CONFIG)
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise UserError(f"unknown configuration keys {sorted(unknown)}")
    cfg.update(overrides)
    vocabulary = list(vocabulary)
    model = CharLanguageModel(vocab_size=len(vocabulary), hidden_sizes=cfg["hidden_sizes"],
                              embedding_dim=cfg["embedding_dim"], batch_size=cfg["batch_size"],
                              dropout=cfg["dropout"], vocabulary=vocabulary)
    model.build((cfg["batch_size"], cfg["num_steps"]))
    return model, cfg


def compile_char_model(model, cfg):
    """Adam with global-norm clipping, mean cross-entropy and :class:`BitsPerCharacter`.

    Returns the callbacks: the 0.97-per-epoch schedule and :class:`ResetStatesCallback`.
    """
    model.compile(optimizer=keras.optimizers.Adam(cfg["learning_rate"], global_clipnorm=cfg["clipnorm"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[BitsPerCharacter()])
    schedule = StepDecaySchedule(cfg["learning_rate"], cfg["lr_decay"], 1)
    return [keras.callbacks.LearningRateScheduler(schedule), ResetStatesCallback()]
