"""An asyncio event loop of its own in a background thread: the fault proxies' and the clock authority's."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable


def run_loop(loop: asyncio.AbstractEventLoop, ready: concurrent.futures.Future[None],
             setup: Callable[[], None]) -> None:
    """The thread's body: `setup()` on `loop` (its sockets, its server), then the loop until it is stopped.
    `ready` says how setup went; a failed setup closes the loop and ends the thread."""
    asyncio.set_event_loop(loop)
    try:
        setup()
    except BaseException as error:
        loop.close()
        ready.set_exception(error)
        return
    ready.set_result(None)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
