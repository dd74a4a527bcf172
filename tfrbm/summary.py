"""``summary()`` for tfrbm models: the layers a user built, and honest parameter counts.

Keras' summary lists every tracked sub-layer and counts every variable a model owns. For an
RBM that means the persistent chains (n_chains x n_visible: 78,400 numbers for a 784-pixel
RBM) show as "non-trainable params" even when the RBM trains by plain CD and never reads
them; for a DBN it means the internal per-layer trainers (RBMModels sharing the layers'
weights) appear as extra rows with shape "?", counted twice.

:class:`ModelSummary` prints instead one row per RBM layer (its kernel and biases: the
trainable parameters) and, as non-trainable, only the state the model's training actually
uses, each item named (``model.summary_rows()`` says what).
"""
__all__ = ["ModelSummary", "format_summary"]


def _shape(units):
    return f"(None, {units})"


def format_summary(name, rows, state, line_length=None):
    """The summary's lines: ``rows`` = [(layer, type, output shape, params)], ``state`` =
    [(what, count)] of the non-trainable numbers in use."""
    width = max(72, int(line_length or 0))
    cols = (width - 32, 18, 14)
    out = [f'Model: "{name}"', "-" * width,
           f"{'Layer (type)':<{cols[0]}}{'Output Shape':<{cols[1]}}{'Param #':>{cols[2]}}",
           "=" * width]
    for layer, kind, shape, params in rows:
        out.append(f"{f'{layer} ({kind})':<{cols[0]}}{shape:<{cols[1]}}{params:>{cols[2]},}")
    out.append("=" * width)
    trainable = sum(r[3] for r in rows)
    fixed = sum(n for _, n in state)
    out.append(f"Total params: {trainable + fixed:,}")
    out.append(f"Trainable params: {trainable:,} (weights and biases)")
    out.append(f"Non-trainable params: {fixed:,}"
               + (" (" + ", ".join(f"{what} {n:,}" for what, n in state) + ")" if state else ""))
    out.append("-" * width)
    return out


class ModelSummary:
    """Model mixin: ``summary()`` from ``self.summary_rows()`` (see the module docstring).

    Keras' arguments are accepted; ``line_length`` and ``print_fn`` are used (``print_fn`` is
    called once per line, as in Keras)."""

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        rows, state = self.summary_rows()
        for line in format_summary(self.name, rows, state, line_length):
            (print_fn or print)(line)


def layer_row(layer):
    """One summary row for an RBMLayer (its output shape and parameters; 0 unbuilt)."""
    params = layer.count_params() if layer.built else 0
    return (layer.name, type(layer).__name__, _shape(layer.units), params)
