"""Copy a trained model for shipping: ``python -m tagger.export --model RUN_DIR --output DIR [--fp16]``.

Writes ``config.json`` and ``model.safetensors`` only (no checkpoint, no
metrics), with float16 weights if asked: half the size, loaded back as float32.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .errors import TaggerError, run_command
from .storage import CONFIG_FILE, load_model, save_weights


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory written by train.py")
    parser.add_argument("--output", type=Path, required=True, help="directory to write")
    parser.add_argument("--fp16", action="store_true", help="store weights as float16")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    model, _, _ = load_model(args.model)
    if args.output.resolve() == args.model.resolve():
        raise TaggerError("--output must differ from --model")
    args.output.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.model / CONFIG_FILE, args.output / CONFIG_FILE)
    save_weights(args.output, model, torch.float16 if args.fp16 else None)
    size = sum(path.stat().st_size for path in args.output.iterdir()) / 1e6
    print(f"{args.output}: {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
