"""Which failures of Redis the store reports as "unavailable, retry later", and which it lets through."""

from __future__ import annotations

import pytest
import redis.exceptions

from hub.errors import NotReplicated, StoreFull, StoreUnavailable
from hub.store import guard, unavailable


@pytest.mark.parametrize(
    "exc",
    [
        redis.exceptions.ConnectionError("refused"),
        redis.exceptions.TimeoutError("slow"),
        redis.exceptions.BusyLoadingError("loading"),
        redis.exceptions.ClusterDownError("down"),
        redis.exceptions.AuthenticationError("invalid password"),  # redis-py: a ConnectionError (the CLI says more)
        ConnectionResetError(),
        redis.exceptions.ResponseError("READONLY You can't write against a read only replica."),
        redis.exceptions.ResponseError("OOM command not allowed"),
        redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
        redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
        redis.exceptions.ResponseError("NOREPLICAS Not enough good replicas to write."),
        redis.exceptions.SlotNotCoveredError("no node"),
        StoreUnavailable("down"),
        NotReplicated("not yet"),
    ],
)
def test_an_outage_is_unavailable(exc: BaseException) -> None:
    assert unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        redis.exceptions.RedisClusterException("bad argument"),
        ValueError("not Redis at all"),
    ],
)
def test_a_misuse_is_not(exc: BaseException) -> None:
    assert not unavailable(exc)


async def test_the_guard_turns_an_outage_into_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        async with guard():
            raise redis.exceptions.ConnectionError("refused")
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)


async def test_the_guard_lets_a_misuse_through() -> None:
    with pytest.raises(redis.exceptions.ResponseError):
        async with guard():
            raise redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")


@pytest.mark.parametrize(
    "exc",
    [
        # redis-py names this refusal and strips its code: recognised by its class, not its text.
        redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
        redis.exceptions.ResponseError("OOM command not allowed when used memory > 'maxmemory'."),
        redis.exceptions.ResponseError(
            "Error running script (call to f_da29): @user_script:4: @user_script: 4: "
            "-OOM command not allowed when used memory > 'maxmemory'."
        ),
    ],
)
async def test_the_guard_says_a_full_store_is_full(exc: BaseException) -> None:
    with pytest.raises(StoreFull) as caught:
        async with guard():
            raise exc
    assert caught.value.status_hint == 507 and "full" in caught.value.description
    assert caught.value.retry_after


async def test_the_guard_turns_a_named_read_only_refusal_into_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        async with guard():
            raise redis.exceptions.ReadOnlyError("You can't write against a read only replica.")
    assert caught.value.retry_after
