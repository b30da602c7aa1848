"""``tagger COMMAND`` (and ``python -m tagger COMMAND``): ``tag``, ``train`` or ``serve``, each with its own ``--help``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .errors import run_command

COMMANDS = {
    "tag": "tag files or text, or score a model on a gold corpus (tag.py)",
    "train": "train a model on a corpus (train.py)",
    "serve": "serve a model over HTTP (pip install 'tagger[serve]')",
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in COMMANDS:
        listed = "\n".join(f"  {name:<7}{what}" for name, what in COMMANDS.items())
        print(f"usage: tagger COMMAND [OPTIONS]\n\ncommands:\n{listed}\n\n'tagger COMMAND --help' tells more.",
              file=sys.stdout if arguments[:1] in (["-h"], ["--help"]) else sys.stderr)
        return 0 if arguments[:1] in (["-h"], ["--help"]) else 2
    command, rest = arguments[0], arguments[1:]
    sys.argv = [f"tagger {command}", *rest]  # --help and errors name the command as typed
    if command == "tag":
        from .cli import main as command_main
    elif command == "train":
        from .train_cli import main as command_main
    else:
        from .serve import main as command_main
    return run_command(command_main, rest)


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
