"""taxii2-client set up for one connector: credentials, timeouts, TLS, and each answer's headers.

taxii2-client is synchronous (``requests``): the pull and push connectors call
it from a worker thread, one call at a time per connector. Two things it does
not do that connectors need are added here:

* a timeout on every request (``requests`` waits forever by default), so a
  partner that stops answering becomes an error that is retried with backoff;
* the headers of the last answer, for ``X-TAXII-Date-Added-Last``: an
  envelope's objects do not carry their ``date_added``, the page's headers do.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from taxii2client.common import _HTTPConnection  # type: ignore[import-untyped]
from taxii2client.v21 import ApiRoot, Collection  # type: ignore[import-untyped]

from connectors.client import HubClientError
from hub.config import ConnectorConfig
from hub.errors import ConfigError, HubError
from hub.store.connectors import LeaseLost

DATE_ADDED_FIRST = "X-TAXII-Date-Added-First"
DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"


class PartnerError(Exception):
    """The partner's TAXII server failed or refused; ``transient`` says whether retrying may help."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` (taxii2-client's own TokenAuth sends ``Token <token>``)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class _TimeoutAdapter(HTTPAdapter):
    """An adapter that gives every request a timeout unless the caller set one."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)  # retries are the connector's business, with backoff
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def partner_auth(spec: ConnectorConfig, environ: Mapping[str, str]) -> requests.auth.AuthBase | None:
    """The connector's credentials, read from the environment variables its config names."""

    def secret(field: str, variable: str) -> str:
        value = environ.get(variable, "")
        if not value:
            raise ConfigError(f"connector {spec.name}: environment variable {variable} ({field}) is not set")
        return value

    if spec.token_env:
        return BearerAuth(secret("token_env", spec.token_env))
    if spec.username and spec.password_env:
        return requests.auth.HTTPBasicAuth(spec.username, secret("password_env", spec.password_env))
    return None


def describe(exc: BaseException) -> str:
    """A short, secret-free account of a failed partner call, for logs and status."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} from {exc.response.url.split('?', 1)[0]}"
    if isinstance(exc, requests.Timeout):
        return "the partner did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect to the partner"
    if isinstance(exc, PartnerError | HubError | HubClientError | LeaseLost):
        return str(exc)[:300]  # written for people already
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class PartnerConnection:
    """One connector's HTTP session with its partner, and the collection it works on."""

    def __init__(self, spec: ConnectorConfig, environ: Mapping[str, str]) -> None:
        self.spec = spec
        self.last_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        self.conn = _HTTPConnection(verify=spec.verify_tls, version="2.1", auth=partner_auth(spec, environ))
        adapter = _TimeoutAdapter(spec.timeout)
        self.conn.session.mount("http://", adapter)
        self.conn.session.mount("https://", adapter)
        self.conn.session.hooks["response"].append(self._remember_headers)
        self._collection: Collection | None = None

    def _remember_headers(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_headers = response.headers

    def collection(self) -> Collection:
        """The partner collection (blocking: call it from a worker thread)."""
        if self._collection is None:
            self._collection = self._find_collection()
        return self._collection

    def _find_collection(self) -> Collection:
        url = self.spec.url if self.spec.url.endswith("/") else self.spec.url + "/"
        wanted = self.spec.collection
        if "/collections/" in url:
            root, _, key = url.partition("/collections/")
            if _is_uuid(key.strip("/")):
                return Collection(url, conn=self.conn)
            # taxii2-client wants the id in a collection's URL: look an alias up in the API root's list.
            url, wanted = root + "/", key.strip("/")
        if not wanted:
            raise PartnerError(f"{url} is not a collection URL and no `collection` is configured", transient=False)
        document = self.conn.get(url)
        roots = [url]
        if "api_roots" in document:  # a discovery URL: the default API root first
            roots = list(dict.fromkeys([r for r in [document.get("default")] if r] + document["api_roots"]))
        for root_url in roots:
            for found in ApiRoot(root_url, conn=self.conn).collections:
                if wanted in (found.id, found.alias, found.title):
                    return found
        raise PartnerError(f"no collection {wanted!r} visible at {url}", transient=False)

    def close(self) -> None:
        self.conn.close()


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
