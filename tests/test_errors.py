"""The exception tree: each error's status hint and title, as the one middleware answers them."""

from __future__ import annotations

import pytest

from hub import errors

EXPECTED = [
    (errors.HubError, 500, "Internal error"),
    (errors.BadRequest, 400, "Bad request"),
    (errors.InvalidJson, 400, "Malformed JSON"),
    (errors.InvalidStix, 400, "Invalid STIX"),
    (errors.Unauthorized, 401, "Unauthorized"),
    (errors.Forbidden, 403, "Forbidden"),
    (errors.NotFound, 404, "Not found"),
    (errors.NotAcceptable, 406, "Not acceptable"),
    (errors.PayloadTooLarge, 413, "Payload too large"),
    (errors.UnsupportedMediaType, 415, "Unsupported media type"),
    (errors.TooManyRequests, 429, "Too many requests"),
    (errors.ConfigError, 500, "Configuration error"),
    (errors.StoreUnavailable, 503, "Service unavailable"),
    (errors.NotReplicated, 503, "Service unavailable"),
]


@pytest.mark.parametrize(("cls", "status", "title"), EXPECTED, ids=lambda x: getattr(x, "__name__", str(x)))
def test_each_error_carries_its_status_hint_and_title(cls: type[errors.HubError], status: int, title: str) -> None:
    assert (cls.status_hint, cls.title) == (status, title)


def test_a_subclass_keeps_what_it_does_not_name() -> None:
    class Gone(errors.NotFound, title="Gone for good"):
        pass

    assert (Gone.status_hint, Gone.title) == (404, "Gone for good")
    assert Gone("no such thing").description == "no such thing"
