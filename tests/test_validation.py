"""The validation vocabulary: declared constraints, one error type, and a CLI that hides only
the user's mistakes."""
import numpy as np
import pytest

from tfrbm import validation as v
from tfrbm.errors import DataNotFoundError, ExportError, UserError


def test_intervals_options_and_none():
    assert v.check_param("k", np.int64(3), v.POSITIVE_INT) == 3
    assert v.check_param("lr", 0.5, v.POSITIVE) == 0.5
    assert v.check_param("t", None, [None, v.Interval(v.Real, 0, 1, closed="neither")]) is None
    assert v.check_param("m", "states", [v.Options("probabilities", "states")]) == "states"
    for bad in (0, -1, 2.0, True, "3", None):
        with pytest.raises(UserError, match=r"k must be a positive integer, got"):
            v.check_param("k", bad, v.POSITIVE_INT)
    for bad in (float("nan"), float("inf"), 0.0, -1e-9):
        with pytest.raises(UserError, match="lr must be a number > 0"):
            v.check_param("lr", bad, v.POSITIVE)
    with pytest.raises(UserError, match=r"None or a number in \(0, 1\), got 1"):
        v.check_param("t", 1, [None, v.Interval(v.Real, 0, 1, closed="neither")])
    with pytest.raises(UserError, match="one of 'a', 'b', got 'c'"):
        v.check_param("m", "c", [v.Options("a", "b")])


def test_declared_constraints_name_the_class_and_the_argument():
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    assert set(RBMModel._parameter_constraints) >= {"cd_k", "n_chains", "sparsity_target"}
    with pytest.raises(UserError, match="RBMModel: sparsity_decay must be a number in \\[0, 1\\)"):
        RBMModel(RBMLayer(2), sparsity_decay=1.0)
    with pytest.raises(UserError, match="RBMModel: weight_decay must be None or a number >= 0"):
        RBMModel(RBMLayer(2), weight_decay=float("nan"))
    from tfrbm.models.recommender import RBMRecommender
    with pytest.raises(UserError, match="RBMRecommender: momentum"):
        RBMRecommender(momentum=float("nan"))


def test_user_errors_are_value_errors_and_the_library_raises_them():
    assert issubclass(UserError, ValueError) and issubclass(ExportError, UserError)
    assert issubclass(DataNotFoundError, FileNotFoundError)
    from tfrbm.data.images import IDXFormatError
    from tfrbm.data.ratings import RatingsFormatError
    from tfrbm.safety import NonFiniteWeightsError, TrainingDivergedError
    for cls in (IDXFormatError, RatingsFormatError, NonFiniteWeightsError, TrainingDivergedError):
        assert issubclass(cls, UserError), cls
    from tfrbm.data.pipeline import check_array
    with pytest.raises(UserError):
        check_array(np.full((2, 3), np.nan), name="x")


def test_cli_prints_user_errors_and_keeps_tracebacks_of_bugs(monkeypatch, capsys):
    from tfrbm import cli
    parser = cli.build_parser()
    parser.set_defaults(func=lambda args: (_ for _ in ()).throw(UserError("bad --steps")))
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main([]) == 2
    assert capsys.readouterr().err.strip() == "tfrbm: error: bad --steps"
    parser.set_defaults(func=lambda args: (_ for _ in ()).throw(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        cli.main([])
    parser.set_defaults(func=lambda args: (_ for _ in ()).throw(KeyError("bug")))
    with pytest.raises(KeyError):
        cli.main([])


def _declared_classes():
    from tfrbm.course.autoencoders import MaskingNoise
    from tfrbm.course.language import StatefulLSTMModel, StepDecaySchedule
    from tfrbm.models.dbn import DBNModel
    from tfrbm.models.rbm import RBMModel
    from tfrbm.models.ratings_rbm import RatingsRBM
    from tfrbm.models.recommender import RBMRecommender
    from tfrbm.course.recommender import CourseBernoulliRBM
    from tfrbm.models.recommender_baselines import BiasedMF
    from tfrbm.models.recommender_network import RecommenderNetwork
    return (RBMModel, DBNModel, StatefulLSTMModel, StepDecaySchedule, MaskingNoise,
            RBMRecommender, RatingsRBM, RecommenderNetwork, BiasedMF, CourseBernoulliRBM)


def test_declarations_name_only_constructor_arguments():
    import inspect
    for cls in _declared_classes():
        assert "_parameter_constraints" in vars(cls), cls
        arguments = set()
        for base in cls.__mro__:               # **kwargs passes a base class's arguments on
            if "__init__" not in vars(base) or base is object:
                continue
            parameters = inspect.signature(base.__init__).parameters
            arguments |= set(parameters)
            if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()) \
                    or "_parameter_constraints" not in vars(base):
                break
        assert set(cls._parameter_constraints) <= arguments, cls


def test_dbn_and_course_models_name_the_bad_hyperparameter():
    from tfrbm.course.autoencoders import MaskingNoise
    from tfrbm.course.language import StatefulLSTMModel, StepDecaySchedule
    from tfrbm.models.dbn import DBNModel
    from tfrbm.models.rbm import RBMModel
    from tfrbm.layers import RBMLayer
    cases = [
        (lambda: DBNModel([]), "DBNModel: layers must be a non-empty list"),
        (lambda: DBNModel("500,200"), "DBNModel: layers must be"),
        (lambda: DBNModel([4], n_labels=1), "DBNModel: n_labels must be None or an integer >= 2"),
        (lambda: DBNModel([4], seed=1.5), "DBNModel: seed must be"),
        (lambda: DBNModel([4], layer_options={"cd_k": 2}), "DBNModel: layer_options must be"),
        (lambda: StatefulLSTMModel(1), "StatefulLSTMModel: vocab_size must be an integer >= 2"),
        (lambda: StatefulLSTMModel(9, hidden_sizes=()), "hidden_sizes must be a non-empty list"),
        (lambda: StatefulLSTMModel(9, embedding_dim=0), "embedding_dim must be a positive integer"),
        (lambda: StatefulLSTMModel(9, dropout=1.0), r"dropout must be a number in \[0, 1\)"),
        (lambda: StatefulLSTMModel(9, forget_bias=0.5), "forget_bias must be 0.0 or 1.0"),
        (lambda: StatefulLSTMModel(9, stateful="yes"), "stateful must be True or False"),
        (lambda: StatefulLSTMModel(9, init_scale=0.0), "init_scale must be None or a number > 0"),
        (lambda: StepDecaySchedule(1.0, 1.5, 0), r"StepDecaySchedule: decay must be a number in \(0, 1\]"),
        (lambda: StepDecaySchedule(1.0, 0.5, -1), "start must be a non-negative integer"),
        (lambda: MaskingNoise(1.0), r"MaskingNoise: rate must be a number in \[0, 1\)"),
        (lambda: RBMModel(RBMLayer(3)).compile(steps_per_execution=0),
         "steps_per_execution must be one of 'auto' or a positive integer"),
        (lambda: DBNModel([3]).compile(steps_per_execution="fast"), "steps_per_execution must be"),
    ]
    for make, message in cases:
        with pytest.raises(UserError, match=message):
            make()
    model = StatefulLSTMModel(np.int64(9), hidden_sizes=[4, 3], embedding_dim=2, forget_bias=0)
    assert (model.vocab_size, model.hidden_sizes, model.forget_bias) == (9, (4, 3), 0.0)
    assert type(model.vocab_size) is int and type(model.forget_bias) is float


def test_recommender_classes_name_the_bad_hyperparameter():
    from tfrbm.models.ratings_rbm import RatingsRBM
    from tfrbm.models.recommender import RBMRecommender
    from tfrbm.course.recommender import CourseBernoulliRBM
    from tfrbm.models.recommender_baselines import BiasedMF
    from tfrbm.models.recommender_network import RecommenderNetwork
    assert RBMRecommender(n_hidden=8.0, seed=np.int64(1)).n_hidden == 8     # whole floats too
    cases = [
        (lambda: RBMRecommender(n_hidden=2.5), "RBMRecommender: n_hidden must be a whole number"),
        (lambda: RBMRecommender(kind="movie"), "RBMRecommender: kind must be one of 'user'"),
        (lambda: RBMRecommender(cd_k=0), "RBMRecommender: cd_k must be an int >= 1"),
        (lambda: RatingsRBM(None), "RatingsRBM: n_items must be a whole number >= 1"),
        (lambda: RatingsRBM(3, n_levels=1), "RatingsRBM: n_levels must be a whole number from 2 to 255"),
        (lambda: RatingsRBM(3, cd_k=0), "RatingsRBM: cd_k must be a positive integer"),
        (lambda: BiasedMF(n_factors=0), "BiasedMF: n_factors must be a whole number >= 1"),
        (lambda: CourseBernoulliRBM(learning_rate=float("nan")),
         "CourseBernoulliRBM: learning_rate must be a finite number > 0"),
        (lambda: RecommenderNetwork(blend="ab"), "RecommenderNetwork: blend must be a sequence"),
    ]
    for make, message in cases:
        with pytest.raises(UserError, match=message):
            make()
