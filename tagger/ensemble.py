"""Models trained apart, saved as one ensemble: ``python -m tagger.ensemble --output DIR MODEL_DIR MODEL_DIR ...``.

The models must come from one corpus and one set of options (one vocabulary,
one network size), typically with different seeds: runs made in parallel, on
one machine or several. The ensemble tags with their mean scores, as one
trained by ``train.py --members N`` does; its members are not copied (the
directory holds ``config.json`` and ``model.safetensors``), so it cannot be
resumed: train the members further first. It tags without an entity bias
(its members' were each chosen for one network alone).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import TaggerError, run_command
from .storage import load_members, save_config, save_weights


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.ensemble", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+", metavar="MODEL_DIR", help="trained model directories")
    parser.add_argument("--output", type=Path, required=True, help="directory to write the ensemble to")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    if len(args.models) < 2:
        raise TaggerError("an ensemble needs at least two models")
    if any(args.output.resolve() == model.resolve() for model in args.models):
        raise TaggerError("--output must differ from the models")
    ensemble, encoder, configs = load_members(args.models)
    first = configs[0]
    settings = {key: value for key, value in first.items()
                if key not in ("format", "tagger_version", "model", "encoder", "temperature", "entity_bias",
                               "entity_bias_dev")}
    settings["members"] = len(args.models)
    if "training" in first:
        settings["training"] = {**first["training"], "members": len(args.models)}
        settings["member_seeds"] = [config.get("training", {}).get("seed") for config in configs]
    args.output.mkdir(parents=True, exist_ok=True)
    save_config(args.output, ensemble.config, encoder, **settings)
    save_weights(args.output, ensemble)
    print(f"{args.output}: an ensemble of {len(args.models)} models")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
