"""The ``crisis-hub`` command line. The only place that configures logging.

No command prints a traceback: every failure is one sentence on stderr and an
exit status — 2 for a usage or configuration problem, 1 for a failure of the
work itself (the hub unreachable, an object rejected), 130 after Ctrl-C, and
141 when the reader of the output went away (``| head``), as a Unix tool
killed by SIGPIPE.

Each command lives in the module named by what it works on (:mod:`hub.cli.serve`,
:mod:`hub.cli.tokens`, …); :mod:`hub.cli.parser` ties their options to them.
Every command speaks English or Spanish (:mod:`hub.cli.language` decides
which, here, before it runs); its sentences come from the translator it is
handed as ``args.tr``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from hub.cli.errors import CliError, say
from hub.cli.language import command_language, given_language
from hub.cli.options import env_default
from hub.cli.parser import build_parser
from hub.errors import HubError
from hub.i18n import translator
from hub.logs import configure as configure_logging
from hub.store import StoreError

__all__ = ["CliError", "build_parser", "main"]

log = logging.getLogger("hub")

EXIT_SIGPIPE = 128 + 13  # what a shell reports for a tool killed by SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # The help and the parser's own sentences are in the language the raw arguments ask for; what the parser
    # read then confirms it (it also reads an abbreviated --lan, and CRISIS_HUB_LANG as the option's default).
    parser = build_parser(translator(command_language(given_language(arguments), env_default("--lang"), os.environ)))
    args = parser.parse_args(arguments)
    given = given_language(arguments) or args.main_lang or getattr(args, "lang", None)
    tr = translator(command_language(given, env_default("--lang"), os.environ))
    args.tr, args.lang = tr, tr.lang
    # The server logs what it does; one-shot commands only warn, so their output stays clean.
    level = logging.INFO if args.command in ("serve", "demo") else logging.WARNING
    configure_logging(logging.DEBUG if getattr(args, "verbose", False) else level, getattr(args, "log_format", "text"))
    try:
        result: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not as an "Exception ignored" at exit
        return result
    except CliError as exc:
        say(exc.message)
        return exc.code
    except HubError as exc:
        say(exc.description)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_SIGPIPE
    except StoreError as exc:
        say(tr("Redis failed: {error}", error=exc))
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        say(f"{where}{exc.strerror or exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - the last resort: one sentence, and the traceback only with -v
        log.debug("unexpected error", exc_info=True)
        say(tr("unexpected error ({kind}: {error}); please report it", kind=type(exc).__name__, error=exc))
        return 70


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for a reader that has gone is dropped quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
