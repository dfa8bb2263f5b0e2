"""A graceful shutdown as the routes see it (pure asyncio; serving.py tells it when uvicorn starts shutting down).

    shutdown.begin(timeout=30)            # SIGTERM/SIGINT: uvicorn has stopped accepting connections
    await shutdown.before_cut(work)       # work's result, or 503 shutting_down once the timeout has passed
    cut = shutdown.watch()                # a future a stream waits on beside its next chunk

Once begun, requests that arrive on connections still open are refused with 503. Running ones may finish for
`timeout` seconds; then comes the cut: a request still waiting for its answer gets a 503 JSON error, a stream an
OpenAI-style error event and `data: [DONE]`, so that clients see an error they can retry instead of a connection
cut in the middle (which the openai client reports as APIConnectionError).
"""
import asyncio
from typing import Optional

from .errors import shutting_down


class Shutdown:

    def __init__(self):
        self.begun = False
        self._cut: Optional[asyncio.Event] = None

    @property
    def cut(self) -> bool:
        return self._cut is not None and self._cut.is_set()

    def begin(self, timeout: float) -> None:
        """Refuse new requests now; cut the running ones `timeout` seconds from now (call on the server's loop)."""
        if self.begun:
            return
        self.begun = True
        asyncio.get_running_loop().call_later(max(0.0, timeout), self._event().set)

    def refuse_if_begun(self) -> None:
        if self.begun:
            raise shutting_down()

    def watch(self) -> asyncio.Future:
        """A future that completes at the cut (cancel it when done with it)."""
        return asyncio.ensure_future(self._event().wait())

    async def before_cut(self, coroutine):
        """The coroutine's result; if the cut comes first, the coroutine is cancelled and a 503 APIError raised."""
        work = asyncio.ensure_future(coroutine)
        cut = self.watch()
        try:
            await asyncio.wait({work, cut}, return_when=asyncio.FIRST_COMPLETED)
            cut_first = not work.done()
        finally:
            cut.cancel()
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
        if cut_first:
            raise shutting_down()
        return work.result()

    def _event(self) -> asyncio.Event:
        if self._cut is None:
            self._cut = asyncio.Event()
        return self._cut
