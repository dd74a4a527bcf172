"""Companion models: stateful LMs, sampling, metrics and schedules, CNN, sequence LSTM, autoencoders, CLI."""
import json
import math

import keras
import numpy as np
import pytest

from tfrbm.course import autoencoders as ae
from tfrbm.course.char import BitsPerCharacter, CharLanguageModel, build_char_model
from tfrbm.course.cnn import build_cnn, conv1_filters, feature_maps, plot_conv1
from tfrbm.course.language import (Perplexity, ResetStatesCallback, StepDecaySchedule,
                                   SummedSequenceLoss, WordLanguageModel, build_word_lm,
                                   choose_next, compile_word_lm, evaluate_perplexity, lm_config)
from tfrbm.course.sequence import build_sequence_classifier


def tiny_lm(vocab=11, batch=2, **kw):
    model = WordLanguageModel(vocab, hidden_sizes=(8, 6), embedding_dim=5, batch_size=batch,
                              init_scale=0.3, forget_bias=0.0,
                              vocabulary=[f"w{i}" for i in range(vocab)], **kw)
    model.build((batch, None))
    return model


# ----------------------------------------------------------------------------- stateful LSTMs

def test_state_carries_over_consecutive_batches():
    model = tiny_lm()
    x = np.random.default_rng(0).integers(0, 11, (2, 8))
    whole, _ = model.step(x, model.initial_states(2))
    model.reset_states()
    first, second = np.asarray(model(x[:, :5])), np.asarray(model(x[:, 5:]))
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, atol=1e-5)
    # after a reset the second chunk starts from zeros again, so its outputs change
    model.reset_states()
    fresh = np.asarray(model(x[:, 5:]))
    assert np.abs(fresh - second).max() > 1e-3
    np.testing.assert_allclose(fresh, model.step(x[:, 5:], model.initial_states(2))[0], atol=1e-5)


def test_reset_callback_zeroes_the_states_each_epoch():
    model = tiny_lm()
    model(np.ones((2, 4), "int32"))
    assert max(float(np.abs(v).max()) for pair in model.state_vars for v in pair) > 0
    cb = ResetStatesCallback()
    cb.set_model(model)
    cb.on_epoch_begin(1)
    assert all(float(np.abs(v).max()) == 0.0 for pair in model.state_vars for v in pair)


def test_non_stateful_model_starts_every_call_from_zero():
    model = tiny_lm(stateful=False)
    x = np.arange(8).reshape(2, 4) % 11
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(x)), atol=1e-6)


def test_word_lm_learns_a_repeating_sentence_and_predicts_next_words():
    vocab = [f"w{i}" for i in range(12)]
    ids = np.tile([3, 7, 1, 9, 4, 0], 400)
    from tfrbm.data.text import ptb_dataset
    model, cfg = build_word_lm("small", vocab_size=12, vocabulary=vocab, hidden_sizes=(24, 24),
                               embedding_dim=8, batch_size=4, num_steps=10)
    assert model.forget_bias == 0.0 and cfg["clipnorm"] == 5.0
    callbacks = compile_word_lm(model, cfg)
    history = model.fit(ptb_dataset(ids, 4, 10), epochs=6, callbacks=callbacks, shuffle=False,
                        verbose=0)
    assert history.history["perplexity"][-1] < 1.3 < history.history["perplexity"][0]
    assert history.history["learning_rate"] == [1.0] * 4 + [0.5, 0.25]
    assert model.predict_next("w3 w7", k=1)[0][0] == "w1"
    assert model.generate("w9 w4", n=4) == ["w0", "w3", "w7", "w1"]
    assert evaluate_perplexity(model, ids[:300], num_steps=50) < 1.3


def test_lm_round_trips_through_keras_file(tmp_path):
    model = tiny_lm()
    x = np.arange(8).reshape(2, 4) % 11
    path = tmp_path / "lm.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, WordLanguageModel) and loaded.vocabulary == model.vocabulary
    model.reset_states()
    loaded.reset_states()
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert loaded.get_config()["hidden_sizes"] == [8, 6]


def test_configs_and_their_checks():
    assert lm_config("course")["hidden_sizes"] == (256, 128)
    assert lm_config("medium")["dropout"] == 0.5 and lm_config("small")["epochs"] == 13
    with pytest.raises(ValueError, match="unknown language-model config"):
        lm_config("large")
    with pytest.raises(ValueError, match="unknown configuration keys"):
        build_word_lm("small", vocab_size=10, hiden=3)
    with pytest.raises(ValueError, match="vocabulary has"):
        WordLanguageModel(5, vocabulary=["a"])
    with pytest.raises(ValueError, match="dropout"):
        WordLanguageModel(5, dropout=1.0)


def test_step_decay_schedules():
    course = StepDecaySchedule(1.0, 0.5, lm_config("course")["decay_start"])
    assert [course(e) for e in range(8)] == [1, 1, 1, 1, 1, 0.5, 0.25, 0.125]
    small = StepDecaySchedule(1.0, 0.5, lm_config("small")["decay_start"])
    assert [small(e) for e in range(6)] == [1, 1, 1, 1, 0.5, 0.25]
    char = StepDecaySchedule(2e-3, 0.97, 1)
    assert char(0) == 2e-3 and math.isclose(char(3), 2e-3 * 0.97 ** 3)
    with pytest.raises(ValueError):
        StepDecaySchedule(1.0, 1.5, 0)


def test_perplexity_bits_and_summed_loss():
    probs = np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]], np.float32)
    logits = np.log(probs)
    y = np.array([[0, 1]])
    metric = Perplexity()
    metric.update_state(y, logits)
    assert math.isclose(float(metric.result()), math.exp(-(math.log(0.5) + math.log(0.8)) / 2),
                        rel_tol=1e-5)
    bits = BitsPerCharacter()
    bits.update_state(np.zeros((3, 4), "int32"), np.zeros((3, 4, 8), "float32"))
    assert math.isclose(float(bits.result()), 3.0, rel_tol=1e-6)  # uniform over 8 = 3 bits
    loss = SummedSequenceLoss()(np.concatenate([y, y]), np.concatenate([logits, logits]))
    assert math.isclose(float(loss), -(math.log(0.5) + math.log(0.8)), rel_tol=1e-5)


# ---------------------------------------------------------------------------------- sampling

def toy_char_model(probs):
    """A char model whose next-character distribution is ``probs`` whatever the input."""
    vocab = [" ", "a", "b", "c"]
    model, _ = build_char_model(vocab, hidden_sizes=(4,), embedding_dim=3, batch_size=1, num_steps=1)
    model.head.kernel.assign(np.zeros(model.head.kernel.shape, "float32"))
    model.head.bias.assign(np.log(np.asarray(probs, "float32")))
    return model


def test_choose_next_modes_on_a_toy_vocabulary():
    probs = np.array([0.1, 0.6, 0.3])
    rng = np.random.default_rng(0)
    assert {choose_next(probs, "argmax", rng=rng) for _ in range(20)} == {1}
    draws = np.array([choose_next(probs, "weighted", rng=rng) for _ in range(20000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, probs, atol=0.015)
    after_other = {choose_next(probs, "weighted-after-space", previous=2, space_id=0, rng=rng)
                   for _ in range(200)}
    assert after_other == {1}
    after_space = np.array([choose_next(probs, "weighted-after-space", previous=0, space_id=0,
                                        rng=rng) for _ in range(5000)])
    np.testing.assert_allclose(np.bincount(after_space, minlength=3) / 5000, probs, atol=0.03)
    with pytest.raises(ValueError, match="unknown sampling mode"):
        choose_next(probs, "greedy")


def test_char_sample_modes():
    model = toy_char_model([0.4, 0.3, 0.2, 0.1])  # argmax is the space
    assert model.sample("ab", 10, mode="argmax") == "ab" + " " * 10
    weighted = model.sample("a", 400, mode="weighted", seed=3)
    assert weighted == model.sample("a", 400, mode="weighted", seed=3)
    freq = np.array([weighted[1:].count(c) for c in " abc"]) / 400
    np.testing.assert_allclose(freq, [0.4, 0.3, 0.2, 0.1], atol=0.08)
    after = model.sample("a", 400, mode="weighted-after-space", seed=1)
    pairs = list(zip(after[:-1], after[1:]))
    assert all(nxt == " " for prev, nxt in pairs if prev != " ")  # argmax unless after a space
    drawn = [nxt for prev, nxt in pairs if prev == " "]
    assert set(drawn) == set(" abc")  # after a space it samples the whole distribution
    # temperature sharpens the distribution toward the argmax
    cold, _ = model.next_token_probs([1], temperature=0.1)
    warm, _ = model.next_token_probs([1], temperature=1.0)
    np.testing.assert_allclose(warm, [0.4, 0.3, 0.2, 0.1], atol=1e-5)
    assert cold[0] > 0.94
    with pytest.raises(ValueError, match="temperature"):
        model.sample("a", 3, temperature=0)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        model.sample("xyz", 3)
    with pytest.raises(ValueError, match="unknown sampling mode"):
        model.sample("a", 3, mode="beam")


def test_char_model_round_trip(tmp_path):
    model = toy_char_model([0.4, 0.3, 0.2, 0.1])
    model.save(tmp_path / "char.keras")
    loaded = keras.models.load_model(tmp_path / "char.keras")
    assert isinstance(loaded, CharLanguageModel) and loaded.vocabulary == [" ", "a", "b", "c"]
    assert loaded.sample("a", 20, seed=5) == model.sample("a", 20, seed=5)


# ------------------------------------------------------------------------- images: CNN & LSTM

@pytest.fixture(scope="module")
def mnist_slice(data_dir):
    from tfrbm.data.images import load_mnist
    x, y = load_mnist("train", data_dir=data_dir)
    xt, yt = load_mnist("test", data_dir=data_dir)
    return x[:3000], y[:3000], xt[:1000], yt[:1000]


def test_cnn_has_the_course_architecture(tmp_path):
    model = build_cnn()
    assert [layer.name for layer in model.layers] == [
        "image", "conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "dropout", "softmax"]
    # conv 5x5x1x32 + 32, conv 5x5x32x64 + 64, dense 3136x1024 + 1024, dense 1024x10 + 10
    assert model.count_params() == 832 + 51264 + 3212288 + 10250
    assert model.get_layer("fc1").input.shape[-1] == 7 * 7 * 64
    assert conv1_filters(model).shape == (32, 5, 5)
    maps = feature_maps(model, np.random.default_rng(0).random(784))
    assert maps.shape == (32, 28, 28) and maps.min() >= 0  # ReLU
    plot_conv1(model, np.zeros(784), path=tmp_path / "conv1.png")
    assert (tmp_path / "conv1.png").stat().st_size > 0


def test_cnn_learns_a_slice_of_mnist(mnist_slice, tmp_path):
    from tfrbm.data.pipeline import make_dataset
    from tfrbm.course.cnn import compile_classifier
    x, y, xt, yt = mnist_slice
    model = compile_classifier(build_cnn(), learning_rate=1e-3)
    model.fit(make_dataset(x[:2000], y[:2000], batch_size=50, seed=0), epochs=1, shuffle=False,
              verbose=0)
    _, acc = model.evaluate(xt[:500], yt[:500], verbose=0)
    assert acc > 0.85
    model.save(tmp_path / "cnn.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "cnn.keras").predict(xt[:5], verbose=0),
                               model.predict(xt[:5], verbose=0), atol=1e-5)


def test_sequence_lstm_reads_rows(mnist_slice):
    from tfrbm.course.cnn import compile_classifier
    model = build_sequence_classifier()
    assert model.count_params() == 4 * (128 * (28 + 128) + 128) + 129 * 10
    x, y, xt, yt = mnist_slice
    compile_classifier(model, learning_rate=3e-3)
    model.fit(x, y, batch_size=100, epochs=2, verbose=0)
    _, acc = model.evaluate(xt, yt, verbose=0)
    assert acc > 0.7
    with pytest.raises(ValueError):
        build_sequence_classifier(units=0)


# --------------------------------------------------------------------------------- autoencoders

def test_autoencoder_shapes():
    course = ae.build_course_autoencoder()
    assert [layer.units for layer in course.get_layer("encoder").layers] == [256, 128]
    assert [layer.units for layer in course.get_layer("decoder").layers] == [256, 784]
    out = np.asarray(course(np.random.default_rng(0).random((3, 784), "float32")))
    assert out.shape == (3, 784) and out.min() >= 0 and out.max() <= 1  # sigmoid output
    deep = ae.build_deep_autoencoder()
    assert [layer.units for layer in deep.get_layer("encoder").layers] == [500, 300, 2]
    assert deep.get_layer("encoder").layers[-1].activation.__name__ == "linear"
    assert deep.get_layer("encoder").layers[0].activation.__name__ == "tanh"
    with pytest.raises(ValueError):
        ae.build_denoising_autoencoder("shallow")


def test_masking_noise_only_while_training():
    layer = ae.MaskingNoise(0.3, seed=0)
    x = np.ones((200, 50), "float32")
    noisy = np.asarray(layer(x, training=True))
    assert set(np.unique(noisy)) <= {0.0, 1.0}
    assert abs((noisy == 0).mean() - 0.3) < 0.03
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_course_and_denoising_autoencoders_learn(mnist_slice, tmp_path):
    from tfrbm.data.pipeline import make_dataset
    x, _, xt, _ = mnist_slice
    baseline = float(np.mean((xt - x.mean(0)) ** 2))  # predicting the mean image
    for model in (ae.build_course_autoencoder(), ae.build_denoising_autoencoder(noise=0.3)):
        ae.compile_autoencoder(model, 0.01)
        model.fit(make_dataset(x, x, batch_size=32, seed=0), epochs=3, shuffle=False, verbose=0)
        assert ae.reconstruction_mse(model, xt) < 0.8 * baseline
    model.save(tmp_path / "dae.keras")
    loaded = keras.models.load_model(tmp_path / "dae.keras")
    np.testing.assert_allclose(loaded.predict(xt[:4], verbose=0), model.predict(xt[:4], verbose=0),
                               atol=1e-5)


def test_deep_autoencoder_latent_plots(mnist_slice, tmp_path):
    x, y, xt, yt = mnist_slice
    x156, y156 = ae.select_digits(x, y)
    assert set(np.unique(y156)) == {1, 5, 6}
    model = ae.compile_autoencoder(ae.build_deep_autoencoder(), 1e-3)
    model.fit(x156, x156, batch_size=50, epochs=1, verbose=0)
    z = ae.latent_codes(model, x156[:100])
    assert z.shape == (100, 2) and np.isfinite(z).all()
    ae.plot_latent_scatter(model, x156[:100], y156[:100], path=tmp_path / "scatter.png")
    ae.plot_reconstructions(model, x156, n=4, path=tmp_path / "recon.png")
    canvas = ae.latent_manifold(model, n=3)
    assert canvas.shape == (84, 84)
    assert (tmp_path / "scatter.png").exists() and (tmp_path / "recon.png").exists()
    with pytest.raises(ValueError, match="no examples"):
        ae.select_digits(x[:10], np.zeros(10), digits=(7,))


# ------------------------------------------------------------------------------------------ CLI

def run_cli(argv, capsys):
    from tfrbm.cli import main
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out.strip().splitlines(), err


def test_cli_image_commands(data_dir, capsys, tmp_path):
    code, lines, _ = run_cli(["cnn", "train", "--data-dir", str(data_dir), "--limit", "300",
                              "--epochs", "1", "--quiet", "--json"], capsys)
    assert code == 0 and 0 <= json.loads(lines[-1])["test_accuracy"] <= 1
    code, lines, _ = run_cli(["ae", "train", "--kind", "deep", "--data-dir", str(data_dir),
                              "--limit", "300", "--epochs", "1", "--quiet", "--json",
                              "--output", str(tmp_path / "ae.keras")], capsys)
    result = json.loads(lines[-1])
    assert code == 0 and result["test_mse"] > 0 and (tmp_path / "ae.keras").exists()
    code, _, err = run_cli(["seqcnn", "train", "--data-dir", str(data_dir), "--limit", "0",
                            "--json"], capsys)
    assert code == 2 and "--limit" in err
    code, _, err = run_cli(["cnn", "train", "--data-dir", str(data_dir), "--limit", "100",
                            "--epochs", "1", "--quiet", "--model-file", str(tmp_path / "m.h5")],
                           capsys)
    assert code == 2 and ".keras" in err


def test_cli_text_commands(data_dir, capsys, tmp_path):
    lm_path, char_path = tmp_path / "lm.keras", tmp_path / "char.keras"
    tiny = ["--batch-size", "4", "--num-steps", "10", "--hidden-sizes", "16,16", "--epochs", "1",
            "--limit", "2000", "--quiet", "--json", "--data-dir", str(data_dir)]
    code, lines, _ = run_cli(["lm", "train", "--config", "small", "--embedding-dim", "8",
                              "--output", str(lm_path)] + tiny, capsys)
    result = json.loads(lines[-1])
    assert code == 0 and result["config"] == "small" and result["test_perplexity"] > 1
    code, lines, _ = run_cli(["lm", "generate", "--model", str(lm_path), "--prime", "the stock",
                              "--n", "3", "--json"], capsys)
    out = json.loads(lines[-1])
    assert code == 0 and out["text"].startswith("the stock ") and len(out["text"].split()) == 5
    code, lines, _ = run_cli(["char", "train", "--output", str(char_path)] + tiny, capsys)
    assert code == 0 and 0 < json.loads(lines[-1])["val_bits_per_char"] < 8
    code, lines, _ = run_cli(["char", "sample", "--model", str(char_path), "--prime", "ROMEO:",
                              "--n", "30", "--mode", "weighted-after-space", "--json"], capsys)
    assert code == 0 and json.loads(lines[-1])["text"].startswith("ROMEO:")
    assert len(json.loads(lines[-1])["text"]) == 36
    code, _, err = run_cli(["char", "sample", "--model", str(tmp_path / "none.keras")], capsys)
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(["lm", "generate", "--model", str(char_path)], capsys)
    assert code == 2 and "not a word language model" in err
