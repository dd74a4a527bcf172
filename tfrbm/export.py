"""SavedModel export with named, typed, shaped signatures, in the layout TF Serving loads.

``export_model(model, "saved_models/rbm_mnist")`` writes ``saved_models/rbm_mnist/<version>/``
(the next free version number, or ``version=N``). The directory is written beside the target
under a temporary name and renamed into place, so an interrupted export never leaves a half
model where TF Serving (or ``tf.saved_model.load``) would look.

Signatures, per kind of model (all randomness is stateless: ``seed`` is an int64 pair, so the
same seed gives the same samples as the Python model's ``seed=s``, which means ``[s, 0]``):

* RBM (:class:`tfrbm.RBMModel`):
    ``serving_default`` = ``hidden_probabilities(visible) -> hidden_probabilities``  p(h=1|v);
    ``reconstruct(visible) -> reconstruction``  E[v | p(h|v)];
    ``free_energy(visible) -> free_energy``  F(v), one value per row;
    ``sample(n_samples, steps, seed) -> visible_mean, visible_sample``  Gibbs chains from the
    base-rate model, as ``daydream``;
    ``inpaint(visible, mask, steps, seed) -> visible_mean, visible_sample``  clamped Gibbs.
* DBN (:class:`tfrbm.DBNModel`): ``features(inputs) -> features`` (the top layer's
  probabilities, also ``serving_default``) and ``sample(n_samples, steps, seed) -> visible_mean``;
  a DBN with label units (``n_labels``) also ``generate(labels, steps, seed) -> visible_mean``:
  one class-conditional sample per int32 label id, as ``DBNModel.generate``.
* DBN classifier (``DBNModel.to_classifier``) and other Keras classifiers (CNN, ...): ``predict(inputs) -> probabilities``
  (also ``serving_default``).
* Recommender (:class:`tfrbm.RBMRecommender`): ``recommend(ratings) -> scores, probabilities``:
  a (batch, n_movies) ratings vector (0 = unrated, 1..K) to expected ratings of every movie.
* Language models (:class:`tfrbm.models.language.StatefulLSTMModel`):
  ``next_token(ids) -> log_probabilities``: log p(next token | ids) from zero states.

The loaded object needs only TensorFlow: ``tf.saved_model.load(path).signatures["reconstruct"]``.
"""
import os
import pathlib
import re
import shutil
import tempfile

import numpy as np

__all__ = ["export_model", "next_version", "signature_names", "ExportError"]

_FORMATS = ("tf_saved_model",)


class ExportError(ValueError):
    """The model cannot be exported (not built, unknown kind, bad target)."""


# ------------------------------------------------------------------ versions and paths
def next_version(base):
    """1 + the largest integer-named sub-directory of ``base`` (1 when there is none)."""
    base = pathlib.Path(base)
    versions = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()] \
        if base.is_dir() else []
    return max(versions, default=0) + 1


def _target(filepath, version):
    filepath = pathlib.Path(filepath)
    if version is False:
        return filepath
    if version is None:
        version = next_version(filepath)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 0:
        raise ExportError(f"version must be a non-negative integer, got {version!r}")
    return filepath / str(int(version))


def _atomic_write(target, write, overwrite):
    """Run ``write(tmp_dir)`` in a temporary directory beside ``target``, then rename it there."""
    target = pathlib.Path(target)
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists; pass overwrite=True or another version")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    old = None
    try:
        write(str(tmp))
        if target.exists():
            old = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.rename(target, old / "model")
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not target.exists() and (old / "model").exists():
            os.rename(old / "model", target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target


# ------------------------------------------------------------------ endpoints per model kind
def _spec(shape, dtype, name):
    import tensorflow as tf
    return tf.TensorSpec(shape, dtype, name=name)


def _rbm_endpoints(model):
    import tensorflow as tf
    from tfrbm import gibbs
    if not model.built:
        raise ExportError("the RBM is not built yet: fit it (or build((None, n_visible))) first")
    layer = model.layer
    n_vis = layer.n_visible
    dtype = layer.kernel.dtype
    visible = _spec((None, n_vis), tf.float32, "visible")
    mask = _spec((None, n_vis), tf.float32, "mask")
    steps = _spec((), tf.int32, "steps")
    seed = _spec((2,), tf.int64, "seed")
    n_samples = _spec((), tf.int32, "n_samples")

    def hidden_probabilities(visible):
        return {"hidden_probabilities": layer.hidden_probs(tf.cast(visible, dtype))}

    def reconstruct(visible):
        v = tf.cast(visible, dtype)
        return {"reconstruction": layer.visible_probs(layer.hidden_probs(v))}

    def free_energy(visible):
        return {"free_energy": layer.free_energy(tf.cast(visible, dtype))}

    def sample(n_samples, steps, seed):
        units = layer.visible_units
        b = tf.broadcast_to(layer.visible_bias, tf.stack([n_samples, n_vis]))
        v0 = units.sample(units.mean(b), gibbs.fold(seed, 7))
        v_mean, v = gibbs.run_chain(layer, v0, steps, seed)
        return {"visible_mean": v_mean, "visible_sample": v}

    def inpaint(visible, mask, steps, seed):
        v_mean, v = gibbs.clamped_chain(layer, tf.cast(visible, dtype), mask, steps, seed)
        return {"visible_mean": v_mean, "visible_sample": v}

    return [("hidden_probabilities", hidden_probabilities, [visible]),
            ("reconstruct", reconstruct, [visible]),
            ("free_energy", free_energy, [visible]),
            ("sample", sample, [n_samples, steps, seed]),
            ("inpaint", inpaint, [visible, mask, steps, seed])]


def _keras_input_spec(model):
    import tensorflow as tf
    inputs = getattr(model, "inputs", None)
    n_visible = getattr(model, "n_visible", None)
    if not inputs and isinstance(n_visible, int):     # DBNModel: a stack over n_visible units
        return tf.TensorSpec((None, n_visible), tf.float32, name="inputs")
    if inputs:
        if len(inputs) != 1:
            raise ExportError("only single-input Keras models can be exported")
        shape, dtype = tuple(inputs[0].shape), inputs[0].dtype
    else:
        shape = getattr(model, "_build_shapes_dict", None) or {}
        shape = next(iter(shape.values()), None)
        if shape is None:
            raise ExportError(f"{type(model).__name__} has no known input shape: build or fit it first")
        dtype = "float32"
    return tf.TensorSpec((None,) + tuple(shape[1:]), tf.as_dtype(dtype), name="inputs")


def _classifier_endpoints(model):
    import tensorflow as tf
    spec = _keras_input_spec(model)

    def predict(inputs):
        out = model(inputs, training=False)
        return {"probabilities": tf.cast(out, tf.float32)}

    return [("predict", predict, [spec])]


def _dbn_endpoints(dbn):
    import tensorflow as tf
    from tfrbm import gibbs
    if not dbn.built:
        raise ExportError("the DBN is not built yet: pretrain it (or build it) first")
    spec = _spec((None, dbn.n_visible), tf.float32, "inputs")
    top = dbn.rbms[-1]

    def features(inputs):
        return {"features": tf.cast(dbn(inputs, training=False), tf.float32)}

    def sample(n_samples, steps, seed):
        units = top.visible_units
        b = tf.broadcast_to(top.visible_bias, tf.stack([n_samples, top.n_visible]))
        v0 = units.sample(units.mean(b), gibbs.fold(seed, 1))
        x, _ = gibbs.run_chain(top, v0, steps, gibbs.fold(seed, 2))
        return {"visible_mean": dbn._down(x)}

    def generate(labels, steps, seed):
        return {"visible_mean": tf.cast(dbn.generate_graph(labels, steps, seed), tf.float32)}

    steps_seed = [_spec((), tf.int32, "steps"), _spec((2,), tf.int64, "seed")]
    endpoints = [("features", features, [spec]),
                 ("sample", sample, [_spec((), tf.int32, "n_samples")] + steps_seed)]
    if getattr(dbn, "n_labels", None):
        endpoints.append(("generate", generate, [_spec((None,), tf.int32, "labels")] + steps_seed))
    return endpoints


def _language_endpoints(model):
    import tensorflow as tf
    if not model.built:
        raise ExportError("the language model is not built yet: build or fit it first")
    ids_spec = _spec((None, None), tf.int32, "ids")

    def next_token(ids):
        logits, _ = model.step(ids, model.initial_states(tf.shape(ids)[0]), training=False)
        return {"log_probabilities": tf.nn.log_softmax(tf.cast(logits[:, -1, :], tf.float32))}

    return [("next_token", next_token, [ids_spec])]


def _recommender_endpoints(rec):
    """``recommend``: a (B, movies) ratings matrix (0 = unrated) -> expected ratings, p(level)."""
    import tensorflow as tf
    if hasattr(rec, "_check_built"):             # the RBMRecommender estimator
        rec._check_built()
        net, movie_ids = rec.network, rec.movie_ids
    else:                                        # a RecommenderNetwork (e.g. from load_model)
        net = rec
        movie_ids = net.metadata.get("movie_ids", np.arange(1, net.n_movies + 1))
    ratings_spec = _spec((None, net.n_movies), tf.float32, "ratings")
    movie_ids = tf.constant(np.asarray(movie_ids, np.int64))
    levels = tf.range(1, net.n_levels + 1, dtype=tf.float32)

    def recommend(ratings):
        probs = net.level_probabilities(ratings)
        return {"scores": tf.linalg.matvec(probs, levels), "probabilities": probs,
                "movie_ids": tf.identity(movie_ids)}

    return [("recommend", recommend, [ratings_spec])]


def model_kind(model):
    """'rbm', 'dbn', 'recommender', 'language_model' or 'classifier' (any other Keras model)."""
    import keras
    from tfrbm.models.rbm import RBMModel
    if isinstance(model, RBMModel):
        return "rbm"
    names = {cls.__name__ for cls in type(model).__mro__}
    if names & {"RBMRecommender", "RecommenderNetwork"}:
        return "recommender"
    if "DBNModel" in names:
        return "dbn"
    if "StatefulLSTMModel" in names:
        return "language_model"
    if isinstance(model, keras.Model):
        return "classifier"
    raise ExportError(f"cannot export a {type(model).__name__}: expected an RBMModel, DBNModel, "
                      "RBMRecommender, language model or Keras model")


_ENDPOINTS = {"rbm": _rbm_endpoints, "dbn": _dbn_endpoints, "recommender": _recommender_endpoints,
              "language_model": _language_endpoints, "classifier": _classifier_endpoints}


def signature_names(model):
    """The signature keys an export of ``model`` will have (``serving_default`` first)."""
    kind = model_kind(model)
    names = {"rbm": ["hidden_probabilities", "reconstruct", "free_energy", "sample", "inpaint"],
             "dbn": ["features", "sample"], "recommender": ["recommend"], "language_model": ["next_token"],
             "classifier": ["predict"]}[kind]
    if kind == "dbn" and getattr(model, "n_labels", None):
        names = names + ["generate"]
    return ["serving_default"] + names


def _write_out(archive, directory, verbose):
    """Write the SavedModel files (a seam the atomic-write test interrupts)."""
    archive.write_out(directory, verbose=verbose)


def _check_name(name):
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
        raise ExportError(f"model name {name!r} must be letters, digits, '_', '.' or '-'")
    return name


# ------------------------------------------------------------------ the public entry point
def export_model(model, filepath, format="tf_saved_model", version=None, overwrite=False,
                 verbose=False):
    """Export ``model`` as a SavedModel with named signatures; returns the directory written.

    Args:
        model: an RBMModel, DBNModel, RBMRecommender, language model or Keras classifier.
        filepath: the model's directory, e.g. ``saved_models/rbm_mnist``; the SavedModel goes in
            its sub-directory ``<version>`` (TF Serving layout).
        format: only ``"tf_saved_model"``.
        version: integer version; None takes the next free one; False writes to ``filepath``
            itself (no version directory).
        overwrite: replace an existing version directory (atomically) instead of failing.
        verbose: print the signatures written.
    """
    import keras
    if format not in _FORMATS:
        raise ExportError(f"unknown export format {format!r}; supported: {', '.join(_FORMATS)}")
    kind = model_kind(model)
    endpoints = _ENDPOINTS[kind](model)          # checks that a recommender is fitted
    tracked = getattr(model, "network", None) if kind == "recommender" else model
    if tracked is None:
        tracked = model
    if hasattr(tracked, "variables"):
        from tfrbm.safety import check_finite_weights
        check_finite_weights(tracked, what=f"export to {filepath}")
    target = _target(filepath, version)

    def write(tmp):
        archive = keras.export.ExportArchive()
        if isinstance(tracked, keras.layers.Layer):
            archive.track(tracked)
        for name, fn, signature in endpoints:
            archive.add_endpoint(name, fn, input_signature=signature)
        _write_out(archive, tmp, verbose)

    return _atomic_write(target, write, overwrite)


def export_named(model, name, base="saved_models", version=None, overwrite=False):
    """Export to ``<base>/<name>/<version>/``; returns the directory written."""
    return export_model(model, pathlib.Path(base) / _check_name(name), version=version,
                        overwrite=overwrite)


__all__ += ["export_named", "model_kind"]
