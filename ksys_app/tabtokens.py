"""A tab keeps its state when the worker it was connected to dies.

With the state in Redis (KSYS_REDIS_URL), Reflex records which worker holds each
tab's socket (a "socket record" per tab token, kept for an hour), so that a
duplicated browser tab, which carries the same token, gets a token of its own
instead of sharing the original's state. A worker that exits cleanly deletes its
records. One that does not (SIGKILL, out of memory, a shutdown cut short: measured,
3 of 8 records were left after a SIGTERM to the process group of four workers)
leaves them behind, and each of its tabs, reconnecting to a worker that runs, is
then taken for a duplicate of itself: a new token and the page's defaults (the
series it switched off, its table pages) instead of its state.

So each worker keeps one Redis connection named after its instance id, and a tab
whose record names a worker without that connection is a reconnection: the record
is dropped and the tab keeps its token. A connection says more than a heartbeat key
with an expiry would: the kernel closes it the moment the process ends, however it
ends, so a backend restarted within a second is right about every tab. (A worker on
another host whose machine loses power keeps its connection open in Redis until TCP
keepalive gives up, `tcp-keepalive`, 300 s by default; its tabs get Reflex's new token
until then.) A record of a live worker is still a duplicate, as Reflex decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
from typing import Any

from ksys_app import logevents

_NAME_PREFIX = "ksys-worker-"
PING_EVERY_S = 30.0  # keeps the named connection open through idle-timeout settings of Redis


def connection_name(instance_id: str) -> str:
    return f"{_NAME_PREFIX}{instance_id}"


def keep_tokens_of_dead_workers(app: Any) -> bool:
    """Installs the check on the app's token manager and the named connection as a
    lifespan task; False (nothing done) without Redis, where a restart keeps no state."""
    from reflex.utils.token_manager import RedisTokenManager

    manager = getattr(app.event_namespace, "_token_manager", None)
    if not isinstance(manager, RedisTokenManager):
        return False
    link = manager.link_token_to_sid

    async def link_token_to_sid(token: str, sid: str) -> str | None:
        await forget_dead_owner(manager, token)
        return await link(token, sid)

    manager.link_token_to_sid = link_token_to_sid
    app.register_lifespan_task(_stay_connected, manager=manager)
    return True


async def live_workers(redis: Any) -> set[str]:
    """Instance ids of the workers holding their named connection to Redis now."""
    clients = await redis.client_list(_type="normal")
    return {c["name"][len(_NAME_PREFIX):] for c in clients if c.get("name", "").startswith(_NAME_PREFIX)}


async def forget_dead_owner(manager: Any, token: str) -> bool:
    """Drops the token's socket record if the worker it names is gone (True then)."""
    key = manager._get_redis_key(token)
    try:
        record = await manager.redis.get(key)
        if not record:
            return False
        owner = pickle.loads(record).instance_id
        if owner == manager.instance_id or owner in await live_workers(manager.redis):
            return False
        await manager.redis.delete(key)
    except Exception as exc:  # Redis down, or CLIENT LIST not allowed: Reflex's own check decides
        logevents.log_event(logevents.TAB_TOKEN_CHECK_FAILED, error=f"{type(exc).__name__}: {exc}"[:200])
        return False
    logevents.log_event(logevents.TAB_TOKEN_KEPT, owner=owner)
    return True


def _named_client(manager: Any, instance_id: str) -> Any:
    """One connection to the token manager's Redis, named for this worker."""
    from redis.asyncio import ConnectionPool, Redis

    pool = manager.redis.connection_pool
    kwargs = {**pool.connection_kwargs, "client_name": connection_name(instance_id)}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, max_connections=1, **kwargs),
                 single_connection_client=True)


async def _stay_connected(manager: Any) -> None:
    """Holds the worker's named connection until the app stops; reconnects when Redis
    drops it. The instance id is read on each round: Reflex gives each forked worker its
    own when it starts serving."""
    client, named_for = None, None
    try:
        while True:
            instance_id = manager.instance_id
            try:
                if client is None or named_for != instance_id:
                    if client is not None:
                        await client.aclose()
                    client, named_for = _named_client(manager, instance_id), instance_id
                await client.ping()
            except Exception as exc:
                logevents.log_event(logevents.WORKER_REDIS_NAME_FAILED, error=f"{type(exc).__name__}: {exc}"[:200])
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.aclose()
                client = None
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(PING_EVERY_S)
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
