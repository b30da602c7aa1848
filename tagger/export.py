"""Copy a trained model for shipping: ``python -m tagger.export --model RUN_DIR --output DIR [--fp16]``.

Writes ``config.json`` and ``model.safetensors`` only (no checkpoint, no
metrics), with float16 weights if asked: half the size, loaded back as float32.
``--fixed-vectors-from glove-6b-50d`` leaves out fixed vectors that are exactly
that package's (checked), to be read from it at load time, as models trained
with all of its words do from the start.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .embeddings import load_embeddings, vectors_beyond
from .errors import TaggerError, run_command
from .model import BiLSTMCRF, Ensemble, members_of
from .storage import CONFIG_FILE, load_model, save_config, save_weights


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory written by train.py")
    parser.add_argument("--output", type=Path, required=True, help="directory to write")
    parser.add_argument("--fp16", action="store_true", help="store weights as float16")
    parser.add_argument("--fixed-vectors-from", metavar="NAME",
                        help="vector package whose vectors the model's fixed ones are (e.g. glove-6b-50d): "
                        "checked, then left out and read from the package at load time")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    model, encoder, config = load_model(args.model)
    if args.output.resolve() == args.model.resolve():
        raise TaggerError("--output must differ from --model")
    args.output.mkdir(parents=True, exist_ok=True)
    if args.fixed_vectors_from:
        model = _with_package_vectors(model, encoder, args.fixed_vectors_from, args.model)
        settings = {key: value for key, value in config.items()
                    if key not in ("format", "tagger_version", "model", "encoder")}
        save_config(args.output, model.config, encoder, **settings)
    else:
        shutil.copyfile(args.model / CONFIG_FILE, args.output / CONFIG_FILE)
    save_weights(args.output, model, torch.float16 if args.fp16 else None)
    size = sum(path.stat().st_size for path in args.output.iterdir()) / 1e6
    print(f"{args.output}: {size:.1f} MB")
    return 0


def _with_package_vectors(model: BiLSTMCRF | Ensemble, encoder, package: str, where: Path) -> BiLSTMCRF | Ensemble:
    """The same model, its fixed vectors marked as ``package``'s, if they are exactly those."""
    fixed = model.config.fixed_words
    kept = len(encoder.words) - fixed
    names, found = vectors_beyond(load_embeddings(package), set(encoder.words.names[:kept]))
    vectors = torch.from_numpy(found)
    networks = members_of(model)
    if fixed == 0 or names != encoder.words.names[kept:] or not torch.equal(vectors, networks[0].fixed_word_vectors):
        raise TaggerError(f"{where}: its fixed vectors are not the '{package}' vectors beyond its vocabulary")
    marked = []
    for network in networks:
        copy = BiLSTMCRF(dataclasses.replace(network.config, fixed_vectors=package))
        copy.load_state_dict({name: value for name, value in network.state_dict().items()
                              if name != "fixed_word_vectors"})
        copy.fixed_word_vectors.copy_(vectors)
        marked.append(copy)
    return (marked[0] if len(marked) == 1 else Ensemble(marked)).eval()


if __name__ == "__main__":
    sys.exit(run_command(main))
