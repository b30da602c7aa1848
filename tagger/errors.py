"""The error every documented bad-input case raises, how commands report it, and how they show their options."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence


class TaggerError(ValueError):
    """Bad input (a file, a model directory, an option); ``str()`` is one line naming the file."""


class TaggerWarning(UserWarning):
    """Input read, but not all of it as given (e.g. nested entities left out); ``str()`` is one line naming the file."""


def first_line(error: Exception) -> str:
    """The first line of an error's message (a library's may run over many), or its kind's name where it has none."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun as messages write them: ``1 sentence``, ``2,000 sentences``, ``1 entity``."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def run_command(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a command's ``main``: a ``TaggerError`` becomes one ``error:`` line and exit code 2, a ``TaggerWarning``
    one ``warning:`` line.

    ``--debug`` in the arguments shows the traceback instead. A closed output
    pipe (``| head``) ends the command quietly.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", TaggerWarning)  # each run's own, even where one process runs several
            others = warnings.showwarning
            shown: set[str] = set()  # once a run: a folder read as --train and --dev warns of its files once

            def show(message, category, *where) -> None:  # a TaggerWarning as one line, as errors are
                if issubclass(category, TaggerWarning):
                    if str(message) not in shown:
                        shown.add(str(message))
                        print(f"warning: {message}", file=sys.stderr)
                else:
                    others(message, category, *where)

            warnings.showwarning = show
            return main(arguments)
    except TaggerError as error:
        if "--debug" in arguments:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (| head): point stdout at /dev/null so the exit flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def program_name(installed: str) -> str:
    """The command's name in ``--help`` and errors: the script run (``tag.py``), the ``tagger`` subcommand run
    (``tagger tag``, set by ``tagger.__main__``), else the installed command's."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if (script.endswith(".py") and script != "__main__.py") or script.startswith("tagger "):
        return script
    return installed


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, except where it would only say ``None`` or ``False``.

    An option without a default (its help says what happens then) and a
    switch that is off unless given gain nothing from "(default: None)".
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        is_switch = action.const is True and action.default is False  # store_true
        if action.default is None or is_switch:
            return action.help
        return super()._get_help_string(action)
