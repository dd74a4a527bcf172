"""The pipelines behind ``tfrbm dbn train``, ``tfrbm train`` and ``tfrbm likelihood``.

Their end-to-end runs are covered through the command line (tests/test_dbn.py,
tests/test_cli_rbm.py, tests/test_assignment.py); these check the library side: declared
settings are validated up front (a UserError naming the setting, before any data loads) and the
command's defaults are the pipeline's.
"""
import pytest

from tfrbm.errors import UserError
from tfrbm.pipelines.dbn import DBNTrainingConfig, train_dbn
from tfrbm.pipelines.likelihood import LikelihoodConfig, estimate_likelihood
from tfrbm.pipelines.rbm_images import train_rbm_on_images


@pytest.mark.parametrize("setting, value", [
    ("layers", ()), ("layers", (10, 0)), ("layers", "500,200"), ("epochs", 0),
    ("learning_rate", float("nan")), ("finetune_lr", -1.0), ("data", "cifar"),
    ("batch_size", 2.5), ("persistent", "yes")])
def test_dbn_config_rejects_bad_settings_by_name(setting, value):
    with pytest.raises(UserError, match=f"DBNTrainingConfig: {setting} must be"):
        DBNTrainingConfig(**{setting: value})
    with pytest.raises(UserError, match=setting):
        train_dbn(**{setting: value})


def test_dbn_config_converts_and_replaces():
    config = DBNTrainingConfig(layers=[16, 8])
    assert config.layers == (16, 8) and config.learning_rate == 0.1
    with pytest.raises(UserError, match="output must end in .keras"):
        train_dbn(config, output="model.h5")


def test_dbn_holdout_is_for_the_digits_only():
    assert DBNTrainingConfig().digits_holdout == "stratified"
    assert DBNTrainingConfig(holdout="last").digits_holdout == "last"
    assert DBNTrainingConfig(data="mnist").digits_holdout is None
    with pytest.raises(UserError, match="holdout='last' applies to the digits only"):
        DBNTrainingConfig(data="mnist", holdout="last")
    with pytest.raises(UserError, match="holdout must be"):
        DBNTrainingConfig(holdout="first")


def test_dbn_command_defaults_are_the_pipelines():
    from tfrbm.cli import build_parser
    args = build_parser().parse_args(["dbn", "train"])
    defaults = DBNTrainingConfig()
    for name in ("data", "holdout", "layers", "epochs", "cd_k", "persistent", "learning_rate", "batch_size",
                 "finetune_epochs", "finetune_lr", "limit", "seed", "sample_steps"):
        got = getattr(args, name)
        assert (tuple(got) if name == "layers" else got) == getattr(defaults, name), name


@pytest.mark.parametrize("setting, value", [
    ("hidden", 0), ("momentum", 1.0), ("binarize", "sometimes"), ("data", "cifar"),
    ("cd_k", 0), ("limit", -5)])
def test_rbm_image_training_rejects_bad_settings_by_name(setting, value, tmp_path):
    with pytest.raises(UserError, match=f"{setting} must be"):
        train_rbm_on_images(**{setting: value}, output=tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written before the settings are checked"


@pytest.mark.parametrize("setting, value", [
    ("max_betas", 5), ("max_betas", "many"), ("max_betas", "auto"), ("runs", 0),
    ("split", "validation")])
def test_likelihood_rejects_bad_settings_by_name(setting, value, tmp_path):
    with pytest.raises(UserError, match=f"{setting} must be"):
        estimate_likelihood(tmp_path / "missing.keras", **{setting: value})


def test_likelihood_names_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(UserError, match="model file not found"):
        estimate_likelihood(tmp_path / "missing.keras", data="digits")
    (tmp_path / "junk.keras").write_text("not a zip")
    with pytest.raises(UserError, match="cannot load model file"):
        estimate_likelihood(tmp_path / "junk.keras", data="digits")


def test_likelihood_max_betas_gets_its_default_once_and_keeps_its_name_down_to_ais(tmp_path):
    from tfrbm.cli import build_parser
    from tfrbm.likelihood.ais import make_betas
    config = LikelihoodConfig()
    assert config.max_betas == len(make_betas()) - 1 == 14500   # the paper's schedule
    assert config.schedule() == {"n_betas": "auto", "start_betas": 7250, "max_betas": 14500,
                                 "time_budget": None}
    assert LikelihoodConfig(max_betas=None, time_budget=60.0).schedule() == {
        "n_betas": "auto", "time_budget": 60.0}
    parser = build_parser()
    (tmp_path / "m.keras").write_text("")
    base = ["likelihood", "--model", str(tmp_path / "m.keras")]
    args = parser.parse_args(base)
    for name in ("data", "split", "runs", "max_betas", "raise_rows", "time_budget", "seed"):
        assert getattr(args, name) == getattr(config, name), name
    assert parser.parse_args(base + ["--max-betas", "auto"]).max_betas is None
    # the old spelling is a hidden alias
    assert parser.parse_args(base + ["--betas", "50"]).max_betas == 50
    assert parser.parse_args(base + ["--betas", "auto"]).max_betas is None


@pytest.mark.parametrize("setting, value", [
    ("momentum", 1.0), ("momentum", -0.1), ("final_lr_fraction", 1.5), ("weight_decay", -1e-4),
    ("pretrain_learning_rate", 0.0)])
def test_dbm_config_rejects_bad_training_settings_by_name(setting, value):
    from tfrbm.pipelines.dbm import DBMTrainingConfig
    with pytest.raises(UserError, match=f"DBMTrainingConfig: {setting} must be"):
        DBMTrainingConfig(**{setting: value})


def test_dbm_pipeline_steps_build_and_compile_what_the_config_says():
    """The steps a benchmark runs one by one (bench_dbm.py) are the pipeline's recipe: the
    model's settings and the rate decaying linearly to ``final_lr_fraction`` of itself."""
    from tfrbm.pipelines.dbm import DBMTrainingConfig, build_dbm, compile_dbm
    config = DBMTrainingConfig(hidden=(6, 4), n_chains=8, weight_decay=1e-4,
                               pretrain_learning_rate=0.02, learning_rate=0.01, momentum=0.5,
                               final_lr_fraction=0.2, epochs=3, batch_size=10)
    dbm = build_dbm(config)
    assert (list(dbm.hidden), dbm.n_chains, dbm.weight_decay, dbm.pretrain_learning_rate) == (
        [6, 4], 8, 1e-4, 0.02)
    assert compile_dbm(dbm, config, n_rows=95) == (3, 10)
    assert float(dbm.optimizer.learning_rate) == pytest.approx(0.01)
    dbm.optimizer.iterations.assign(30)          # 3 epochs x 10 batches: the end of the run
    assert float(dbm.optimizer.learning_rate) == pytest.approx(0.002)
    assert float(dbm.optimizer.momentum) == 0.5


@pytest.mark.parametrize("config_name, setting, value", [
    ("CNNTrainingConfig", "epochs", 0), ("CNNTrainingConfig", "learning_rate", -1.0),
    ("SequenceClassifierConfig", "units", 0), ("AutoencoderConfig", "kind", "sparse"),
    ("AutoencoderConfig", "noise", 1.0), ("WordLMConfig", "configuration", "large"),
    ("WordLMConfig", "hidden_sizes", ()), ("CharLMConfig", "source", "web"),
    ("CharLMConfig", "limit", 0)])
def test_companion_configs_reject_bad_settings_by_name(config_name, setting, value):
    """Each companion pipeline checks its settings once, in its config, before any data loads."""
    from tfrbm.pipelines import companions
    config_class = getattr(companions, config_name)
    with pytest.raises(UserError, match=f"{config_name}: {setting} must be"):
        config_class(**{setting: value})
    pipeline = {"CNNTrainingConfig": companions.train_cnn,
                "SequenceClassifierConfig": companions.train_sequence_classifier,
                "AutoencoderConfig": companions.train_autoencoder,
                "WordLMConfig": companions.train_word_lm,
                "CharLMConfig": companions.train_char_lm}[config_name]
    with pytest.raises(UserError, match=setting):
        pipeline(**{setting: value})
    with pytest.raises(UserError, match="output must end in .keras"):
        pipeline(output="model.h5")


@pytest.mark.parametrize("noun, pipeline, config_name", [
    ("cnn", "train_cnn", "CNNTrainingConfig"),
    ("seqcnn", "train_sequence_classifier", "SequenceClassifierConfig"),
    ("ae", "train_autoencoder", "AutoencoderConfig"),
    ("lm", "train_word_lm", "WordLMConfig"),
    ("char", "train_char_lm", "CharLMConfig")])
def test_a_companion_command_at_its_defaults_runs_its_pipelines_default_config(
        monkeypatch, capsys, noun, pipeline, config_name):
    """``tfrbm NOUN train`` with no options hands its pipeline the config's defaults (the
    options take theirs from the config; the pipeline itself is replaced, it is run for real in
    test_companions.py)."""
    from tfrbm import cli
    from tfrbm.commands import companions as command
    from tfrbm.pipelines import companions
    seen = []
    monkeypatch.setattr(command, pipeline,
                        lambda config, **kwargs: seen.append(config) or {"test_metric": 1.0})
    assert cli.main([noun, "train", "--quiet"]) == 0
    assert "test_metric: 1.0" in capsys.readouterr().out
    assert seen == [getattr(companions, config_name)()]
