"""Issue 30 item 7: one CLI grammar. Every command is ``tfrbm NOUN VERB``, every visible option has
help, the same flag names mean the same things everywhere, README.md's table is the parser's,
and every old spelling is a hidden alias that parses to the same namespace as the new one."""
import argparse
import pathlib
import re

import pytest

from tfrbm import cli
from tfrbm.commands import recommend

REPO = pathlib.Path(__file__).resolve().parents[1]

#: old option spellings: hidden aliases, never shown by --help
OLD_FLAGS = {"--model-file", "--save", "--layers", "--units", "--hidden-sizes", "--plots", "--n",
             "--base", "--chains", "--betas"}


@pytest.fixture(scope="module")
def parser():
    return cli.build_parser()


def _visible_actions(p):
    return [a for a in p._actions
            if a.help is not argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]


def _option_strings(p):
    return {s for a in _visible_actions(p) for s in a.option_strings}


def test_every_command_is_noun_verb_and_listed(parser):
    paths = cli.command_paths(parser)
    assert len(paths) >= 20
    for path in paths:
        assert len(path.split()) == 2, f"`tfrbm {path}` is not NOUN VERB"
    # every noun and every verb in the tree is listed by --help, with a help line: the old
    # spellings are aliases rewritten before parsing, not hidden commands
    top = cli.subcommands(parser)
    assert {a.dest for a in top._choices_actions} == set(top.choices)
    for noun, noun_parser in top.choices.items():
        verbs = cli.subcommands(noun_parser)
        assert verbs is not None, f"`tfrbm {noun}` has no verbs"
        listed = {a.dest: a.help for a in verbs._choices_actions}
        assert set(listed) == set(verbs.choices), noun
        assert all(listed.values()), f"a verb of {noun} has no help"
    assert all(a.help for a in top._choices_actions)


def test_every_visible_option_of_every_command_has_help(parser):
    missing = [f"tfrbm {path} {'/'.join(a.option_strings) or a.metavar or a.dest}"
               for path, p in cli.command_paths(parser).items()
               for a in _visible_actions(p) if not (a.help and a.help.strip())]
    assert not missing, "options without help: " + ", ".join(missing)


def test_the_same_flag_names_everywhere(parser):
    for path, p in cli.command_paths(parser).items():
        shown = _option_strings(p)
        assert not shown & OLD_FLAGS, f"tfrbm {path} shows old spellings {shown & OLD_FLAGS}"
        assert ("--quiet" in shown) == ("--verbose" in shown), f"tfrbm {path}: --quiet with --verbose"
        for a in _visible_actions(p):
            # a model file read or written is --model; a seed is --seed; sizes are --hidden
            if a.dest in ("model_file", "save") or (a.dest == "model" and a.option_strings):
                assert a.option_strings == ["--model"], (path, a.option_strings)
            if a.dest == "seed":
                assert a.option_strings == ["--seed"], (path, a.option_strings)
            if a.dest in ("hidden", "layers", "units", "hidden_sizes"):
                assert a.option_strings == ["--hidden"], (path, a.option_strings)
            if a.dest == "n":
                assert a.option_strings in (["-n"], []), (path, a.option_strings)
            if a.dest == "json":
                assert a.option_strings == ["--json"], (path, a.option_strings)


def test_help_shows_no_old_spelling(parser, capsys):
    top_help = parser.format_help()
    for old in ("train", "init", "likelihood", "export", "recommend ", "run_visible"):
        assert not re.search(rf"^\s+{old}", top_help, re.M), old
    for path, p in cli.command_paths(parser).items():
        words = set(re.findall(r"--[a-z][a-z-]*", p.format_help()))
        assert not words & OLD_FLAGS, (path, words & OLD_FLAGS)
    assert "sample" not in cli.subcommands(cli.subcommands(parser).choices["char"]).choices


def _readme_table():
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Command line"):]
    section = section[:section.index("\n## ", 5)]
    rows = re.findall(r"^\| `tfrbm ([a-z-]+ [a-z-]+)` \| (.+?) \| (.+?) \|$", section, re.M)
    return section, {cmd: re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", flags) for cmd, _, flags in rows}


def test_readme_table_is_the_parser(parser):
    section, table = _readme_table()
    paths = cli.command_paths(parser)
    assert set(table) == set(paths), ("documented, not a command:", set(table) - set(paths),
                                      "a command, not documented:", set(paths) - set(table))
    for command, flags in table.items():
        assert flags, command
        unknown = set(flags) - _option_strings(paths[command])
        assert not unknown, f"README lists {unknown} for tfrbm {command}, which has no such option"
    # every old spelling the parser rewrites is named in the section
    for old in parser.aliases:
        assert f"`{old.split()[-1]}`" in section or f"`{old}`" in section, old
    for flag in OLD_FLAGS:
        assert f"`{flag}`" in section, flag


@pytest.fixture()
def files(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"PK")          # parsing only checks that the file is there
    return {"model": str(model), "new": str(tmp_path / "new.keras"), "dir": str(tmp_path / "out")}


#: (old spelling, the grammar's); {model}: an existing file, {new}: a new .keras path, {dir}: a folder
ALIASES = [
    ("train", "rbm train"),
    ("train --epochs 3 --lr 0.2", "rbm train --epochs 3 --learning-rate 0.2"),
    ("train --model {model} --epochs 50", "rbm train --model {model} --epochs 50"),
    ("{model} train 5000", "rbm train --model {model} 5000"),
    ("init {new} 6 2 0.1", "rbm init {new} 6 2 0.1"),
    ("{new} init 6 2", "rbm init {new} 6 2"),
    ("run-visible {model} --probabilities", "rbm run-visible {model} --probabilities"),
    ("run_visible {model}", "rbm run-visible {model}"),
    ("rbm run_visible {model}", "rbm run-visible {model}"),
    ("{model} run_visible", "rbm run-visible {model}"),
    ("run-hidden {model}", "rbm run-hidden {model}"),
    ("{model} run_hidden", "rbm run-hidden {model}"),
    ("daydream {model} 3 5", "rbm daydream {model} 3 5"),
    ("{model} daydream 3 5", "rbm daydream {model} 3 5"),
    ("daydream-trace {model} 3", "rbm daydream-trace {model} 3"),
    ("daydream_trace {model} 3", "rbm daydream-trace {model} 3"),
    ("{model} daydream_trace 3", "rbm daydream-trace {model} 3"),
    ("likelihood --model {model} --betas 50", "rbm likelihood --model {model} --max-betas 50"),
    ("export --model {model} --name x --base {dir}", "model export --model {model} --name x --output {dir}"),
    ("recommend --user 1 --n 5", "recommender recommend --user 1 -n 5"),
    ("recommender train --save {new}", "recommender train --model {new}"),
    ("assignment --output {dir} --epochs 2", "assignment run --output {dir} --epochs 2"),
    ("char sample --model {model} --n 5", "char generate --model {model} -n 5"),
    ("lm generate --model {model} --n 5", "lm generate --model {model} -n 5"),
    ("dbn train --layers 16,8 --model-file {new}", "dbn train --hidden 16,8 --model {new}"),
    ("dbn train --verbose 0", "dbn train --quiet"),
    ("dbm train --chains 10 --model-file {new}", "dbm train --n-chains 10 --model {new}"),
    ("seqcnn train --units 8", "seqcnn train --hidden 8"),
    ("lm train --hidden-sizes 16,16", "lm train --hidden 16,16"),
    ("char train --hidden-sizes 16,16 --quiet", "char train --hidden 16,16 --verbose 0"),
    ("ae train --plots {dir}", "ae train --plot {dir}"),
    ("cnn train --model-file {new}", "cnn train --model {new}"),
    ("cnn train --output {new}", "cnn train --model {new}"),       # the older file form of --output
    ("anomaly detect --model-file {new}", "anomaly detect --model {new}"),
]


@pytest.mark.parametrize("old, new", ALIASES)
def test_an_old_spelling_parses_to_the_new_ones_namespace(parser, files, old, new):
    a = parser.parse_args(old.format(**files).split())
    b = parser.parse_args(new.format(**files).split())
    assert vars(a) == vars(b)


def test_main_runs_the_old_spellings(capsys):
    # the same parser in main: an old spelling's error speaks the grammar's command
    assert cli.main(["train", "--epochs", "0"]) == 2
    assert "rbm train: argument --epochs" in capsys.readouterr().err
    assert cli.main(["dbn", "train", "--layers", "10,x"]) == 2
    assert "argument --layers: must be comma-separated positive integers" in capsys.readouterr().err
    assert cli.main(["char", "sample", "--help"]) == 0
    assert "usage: tfrbm char generate" in capsys.readouterr().out


def test_verbosity_is_one_scheme(parser):
    def level(*argv):
        args = parser.parse_args(["dbn", "train", *argv])
        return args.verbose, args.quiet
    assert level() == (None, False)
    assert level("--quiet") == level("--verbose", "0") == (0, True)
    assert level("--verbose") == level("--verbose", "1") == (1, False)
    assert level("--verbose", "2") == (2, False)
    for bad in (["--verbose", "3"], ["--quiet", "--verbose", "2"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["dbn", "train", *bad])


def test_recommend_model_is_used_when_there_else_trained_into(parser, files, monkeypatch):
    seen = []
    monkeypatch.setattr(recommend, "_recommend", lambda args: seen.append((args.model, args.save)) or 0)
    for argv in (["--model", files["model"]], ["--model", files["new"]], ["--save", files["new"]]):
        args = parser.parse_args(["recommender", "recommend", "--user", "1", *argv])
        assert args.func(args) == 0
    assert seen == [(files["model"], None), (None, files["new"]), (None, files["new"])]


def test_rbm_train_model_saves_a_new_model_and_refuses_rows_for_a_missing_one(tmp_path, capsys,
                                                                             monkeypatch):
    from tfrbm.commands import rbm
    from tfrbm.pipelines.rbm_images import RBMImageTrainingResult
    new, out = tmp_path / "digits.keras", tmp_path / "out"
    rows = tmp_path / "rows.txt"
    rows.write_text("1 0 1\n0 1 0\n")
    for argv, why in ((["5000"], "EPOCHS"), (["--input", str(rows)], "--input")):
        assert cli.main(["rbm", "train", "--model", str(new), *argv]) == 2
        err = capsys.readouterr().err
        assert f"model file {new} does not exist, and {why}" in err and "tfrbm rbm init" in err
    assert not new.exists()

    # the image pipeline (run for real in test_cli_rbm.py, which checks the file) replaced:
    # what is under test is that the command hands it the new file and says so
    def pipeline(config, **kwargs):
        assert kwargs["verbose"] == 0 and config.hidden == 4 and kwargs["model_file"] == str(new)
        return RBMImageTrainingResult({"epochs": 1}, None, None, pathlib.Path(config.output))
    monkeypatch.setattr(rbm, "train_rbm_on_images", pipeline)
    assert cli.main(["rbm", "train", "--model", str(new), "--hidden", "4", "--output", str(out),
                     "--quiet"]) == 0
    assert f"wrote the model to {new}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, config", [
    (["dbm", "train"], "tfrbm.pipelines.dbm:DBMTrainingConfig"),
    (["dbn", "train"], "tfrbm.pipelines.dbn:DBNTrainingConfig"),
    (["anomaly", "detect"], "tfrbm.pipelines.anomaly:AnomalyConfig"),
    (["rbm", "likelihood", "--model", "{model}"], "tfrbm.pipelines.likelihood:LikelihoodConfig"),
    (["recommender", "train"], "tfrbm.pipelines.recommender:RecommenderConfig"),
    (["recommender", "recommend", "--user", "1"], "tfrbm.pipelines.recommender:RecommenderConfig"),
])
def test_a_command_at_its_defaults_builds_its_pipelines_default_config(tmp_path, argv, config):
    """The options take their defaults from the config (each default lives once), and
    common.config_from_args maps them back field by field."""
    import importlib

    from tfrbm.commands.common import config_from_args
    model = tmp_path / "m.keras"
    model.write_bytes(b"")
    args = cli.build_parser().parse_args([a.format(model=model) for a in argv])
    module, name = config.split(":")
    config_class = getattr(importlib.import_module(module), name)
    # options of another form: layer sizes parse to lists, --conditional to 0/1
    settings = {k: tuple(v) if isinstance(v, list) else bool(v) if k == "conditional" else v
                for k, v in vars(args).items()
                if k in ("hidden", "layers", "conditional") and k in config_class.__dataclass_fields__}
    if hasattr(args, "unlabelled"):
        settings["labels"] = not args.unlabelled
    assert config_from_args(config_class, args, **settings) == config_class()
