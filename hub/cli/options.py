"""The options several commands share, and the environment variables that give their defaults.

:data:`ENVIRONMENT` is the one list of the ``CRISIS_HUB_*`` variables the
command line reads, each with the option it sets and the default when it is
unset; :mod:`hub.configdoc` documents it from this table. A variable is read
when the parser is built, never at import.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass

from hub.capacity import parse_size
from hub.cli.language import OPTION as LANG_OPTION
from hub.cli.language import language_type
from hub.i18n import Translator

DEFAULT_DATA_DIR = "./.crisis-hub"
DEFAULT_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class Variable:
    """An environment variable that gives ``option`` its default; ``default`` applies when it is unset."""

    name: str
    option: str
    default: str | None = None

    def read(self) -> str | None:
        """The value the option defaults to now: the variable's, else the built-in default."""
        return os.environ.get(self.name, self.default)


ENVIRONMENT = (
    Variable("CRISIS_HUB_CERT", "--cert"),
    Variable("CRISIS_HUB_KEY", "--key"),
    Variable("CRISIS_HUB_HOST", "--host", "127.0.0.1"),
    Variable("CRISIS_HUB_PORT", "--port", "8080"),
    Variable("CRISIS_HUB_LOG_FORMAT", "--log-format", "text"),
    Variable("CRISIS_HUB_CONFIG", "--config"),
    Variable("CRISIS_HUB_DATA_DIR", "--data-dir", DEFAULT_DATA_DIR),
    Variable("CRISIS_HUB_REDIS_URL", "--redis-url"),
    Variable("CRISIS_HUB_REDIS_CLUSTER", "--redis-cluster", "0"),
    Variable("CRISIS_HUB_MAXMEMORY", "--maxmemory"),
    Variable("CRISIS_HUB_NAMESPACE", "--namespace", "chub"),
    Variable("CRISIS_HUB_URL", "--url", DEFAULT_URL),
    Variable("CRISIS_HUB_TOKEN", "--token"),
    Variable("CRISIS_HUB_LANG", LANG_OPTION),
)

# Read by ``serve`` itself, not an option's default: ``production`` refuses to run the demo committee.
ENV = "CRISIS_HUB_ENV"
# Read by ``login``, ``logout`` and every command given no token: the file of the tokens ``login`` saved.
TOKENS_FILE = "CRISIS_HUB_TOKENS"
# Read by ``exercise run``, one variable per stakeholder a scenario names: this prefix, then the id
# (``CRISIS_HUB_TOKEN_CERT_MX`` for ``cert-mx``; see :func:`hub.cli.exercise.token_variable`).
STAKEHOLDER_TOKEN = "CRISIS_HUB_TOKEN_"


def env_default(option: str) -> str | None:
    """The default of ``option`` from its environment variable (see :data:`ENVIRONMENT`)."""
    return next(var for var in ENVIRONMENT if var.option == option).read()


def language_option(parser: argparse.ArgumentParser, tr: Translator) -> None:
    """``--lang``, on every command: the language of its sentences (and of the demo)."""
    parser.add_argument(
        LANG_OPTION,
        type=language_type(tr),
        default=env_default(LANG_OPTION),
        metavar="en|es",
        help=tr("language of the messages: en or es (or CRISIS_HUB_LANG; default: the system's, else en)"),
    )


def listen_options(parser: argparse.ArgumentParser, tr: Translator) -> None:
    """``--host`` and ``--port``, for the commands that run a hub."""
    parser.add_argument(
        "--host",
        default=env_default("--host"),
        help=tr("address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)"),
    )
    parser.add_argument(
        "--port", type=int, default=int(env_default("--port") or 0), help=tr("port (default {port})", port=8080)
    )


def verbose_option(parser: argparse.ArgumentParser, tr: Translator) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help=tr("debug logging"))


def log_option(parser: argparse.ArgumentParser, tr: Translator) -> None:
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=env_default("--log-format"),
        help=tr("readable lines (default) or one JSON object per line"),
    )


def store_options(parser: argparse.ArgumentParser, tr: Translator) -> None:
    """The config file and where the hub's Redis is: for the hub and the commands that work on its data."""
    parser.add_argument("--config", default=env_default("--config"), help=tr("config TOML (default: built-in demo)"))
    parser.add_argument(
        "--data-dir",
        default=env_default("--data-dir"),
        help=tr(
            "folder of the embedded Redis (default {folder}): the hub's and its commands' must match",
            folder=DEFAULT_DATA_DIR,
        ),
    )
    parser.add_argument(
        "--redis-url", default=env_default("--redis-url"), help=tr("use this Redis instead of the embedded one")
    )
    parser.add_argument(
        "--redis-cluster",
        action="store_const",
        const="1",
        default=env_default("--redis-cluster"),
        help=tr("the Redis at --redis-url is a Redis Cluster (7 or later), reached through any of its nodes"),
    )
    parser.add_argument("--namespace", default=env_default("--namespace"), help=argparse.SUPPRESS)


def memory_size(tr: Translator) -> Callable[[str], int]:
    """The ``--maxmemory`` value's type: a size in bytes (``2gb``, ``512mb``), or a usage error that says the form."""

    def size(text: str) -> int:
        try:
            return parse_size(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                tr("{value!r} is not a memory size: give bytes or a size such as 512mb or 2gb", value=text)
            ) from None

    return size


def hub_url(tr: Translator) -> Callable[[str], str]:
    """The ``--url`` value's type: an http(s) URL, or a usage error that says the form."""

    def url(text: str) -> str:
        if not text.startswith(("http://", "https://")) or len(text.split("//", 1)[1].strip("/")) == 0:
            raise argparse.ArgumentTypeError(
                tr("{value!r} is not a hub URL: give http://HOST:PORT or https://HOST", value=text)
            )
        return text

    return url


def url_option(parser: argparse.ArgumentParser, tr: Translator) -> None:
    """``--url``, for the commands that talk to a hub over HTTP."""
    parser.add_argument(
        "--url",
        type=hub_url(tr),
        default=env_default("--url"),
        help=tr("the hub's base URL (or CRISIS_HUB_URL; default {url})", url=DEFAULT_URL),
    )


def client_options(parser: argparse.ArgumentParser, tr: Translator) -> None:
    """``--url`` and ``--token``, for the commands that talk to a hub over HTTP."""
    url_option(parser, tr)
    parser.add_argument("--token", default=env_default("--token"), help=tr("bearer token (or CRISIS_HUB_TOKEN)"))


def cluster(args: argparse.Namespace) -> bool:
    """Whether --redis-url is a Redis Cluster (the option, or CRISIS_HUB_REDIS_CLUSTER=1, true or yes)."""
    return str(args.redis_cluster).lower() in ("1", "true", "yes")
