"""``tfrbm model export``: write a saved model as a TF Serving SavedModel with named signatures.

    tfrbm model export --model rbm.keras --name rbm_mnist          # saved_models/rbm_mnist/1/
    tfrbm model export --model rbm.keras --name rbm_mnist --version 7 --output /srv/models
    tfrbm model export --model recommender.npz --name movielens --json

``tfrbm export`` is the old spelling of ``tfrbm model export``, ``--base`` of ``--output``.
"""
import argparse
import pathlib

import tfrbm
from tfrbm import argtypes as at
from tfrbm.commands.common import add_json_option, add_noun, print_json
from tfrbm.errors import UserError

__all__ = ["register", "load_any_model"]

#: the old spelling -> the grammar's
ALIASES = {"export": "model export"}

#: the longest folder name most file systems take (bytes)
_NAME_MAX = 255


def _base(text):
    """``--output``: a folder to export into (existing, or creatable), proved writable."""
    return at.output_dir(text)


def _name(text):
    """``--name``: one folder name (checked again by tfrbm.export), short enough to create."""
    if len(text.encode("utf-8", "surrogateescape")) > _NAME_MAX - 20:
        raise argparse.ArgumentTypeError(
            f"a name of {len(text)} characters is too long; at most {_NAME_MAX - 20} "
            "(it becomes a folder name)")
    return text


def load_any_model(path):
    """Load a ``.keras`` model (any tfrbm class) or an ``.npz`` RBMRecommender."""
    path = pathlib.Path(path)
    if not path.exists():
        raise UserError(f"model file {path} does not exist")
    if path.suffix == ".npz":
        from tfrbm.models.recommender import RBMRecommender
        try:
            return RBMRecommender.load(path)
        except Exception as exc:   # a corrupt or tampered file
            raise UserError(f"cannot load recommender {path}: {exc}") from None
    if path.suffix not in (".keras", ".h5"):
        raise UserError(f"{path}: expected a .keras model or an .npz recommender")
    import keras

    from tfrbm.safety import check_loaded_weights
    tfrbm.register_keras_classes()    # the classes a .keras file may name
    try:
        model = keras.saving.load_model(path)
    except Exception as exc:   # a corrupt file, or one naming a class tfrbm does not know
        raise UserError(f"cannot load model file {path}: {exc}") from None
    return check_loaded_weights(model, path)


def _export(args):
    from tfrbm import export
    if args.model_version is not None and args.model_version < 0:
        raise UserError(f"--version must be >= 0, got {args.model_version}")
    export.check_name(args.name)
    model = load_any_model(args.model)
    path = export.export_named(model, args.name, base=args.base, version=args.model_version,
                               overwrite=args.overwrite)
    names = export.signature_names(model)
    print(f"exported {type(model).__name__} to {path}")
    print("signatures: " + ", ".join(names))
    if args.json:
        print_json({"path": str(path), "version": int(path.name), "signatures": names})
    return 0


def register(subparsers):
    verbs = add_noun(subparsers, "model", "any saved tfrbm model: export (TF Serving)")
    p = verbs.add_parser("export", help="export a model as a TF Serving SavedModel",
                         description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, metavar="PATH",
                   help="a .keras model or an .npz recommender")
    p.add_argument("--name", required=True, type=_name,
                   help="model name: <output>/<name>/<version>/")
    p.add_argument("--version", type=at.export_version, default=None, dest="model_version",
                   metavar="N", help="version number (default: the next free one)")
    p.add_argument("--output", type=_base, default="saved_models", dest="base", metavar="DIR",
                   help="base folder of the exported models (default saved_models)")
    at.add_hidden_alias(p, "--base", dest="base", type=_base)
    p.add_argument("--overwrite", action="store_true", help="replace an existing version")
    add_json_option(p, "the path, version and signatures")
    p.set_defaults(func=_export)
