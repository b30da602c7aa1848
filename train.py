#!/usr/bin/env python3
"""Train a tagger: python train.py --train TRAIN --dev DEV --output MODEL_DIR (see --help)."""

import sys

from tagger.errors import run_command
from tagger.train_cli import main

if __name__ == "__main__":
    sys.exit(run_command(main))
