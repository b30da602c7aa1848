#!/usr/bin/env python3
"""Tag files or score a model: python tag.py --model MODEL_DIR INPUT ... (see --help)."""

import sys

from tagger.cli import main
from tagger.errors import run_command

if __name__ == "__main__":
    sys.exit(run_command(main))
