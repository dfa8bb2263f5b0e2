"""Admission control: a fixed number of running slots and a bounded waiting line.

    admission = Admission(max_running=32, max_waiting=128)
    async with admission.slot(weight=n):   # QueueFull when the waiting line is full
        ...                                 # at most max_running weight runs at once

A request that cannot run at once waits in FIFO order; when the line already holds
`max_waiting` requests it is refused at once (the server answers 429 with Retry-After), so
memory never grows with the load. A waiter that is cancelled (timeout, client gone) leaves the
line; a slot is given back the moment its holder finishes, fails or is cancelled.

All methods run on the server's one event loop; nothing here is thread-safe, nor needs to be.
"""
import asyncio
import contextlib
from collections import deque
from typing import AsyncIterator, Deque, Tuple

from swift.utils import SwiftError


class QueueFull(Exception):
    """Every slot is busy and the waiting line is full."""


class RequestTooLarge(Exception):
    """A request needs more slots at once than there are."""


class Admission:

    def __init__(self, max_running: int, max_waiting: int):
        if max_running < 1:
            raise SwiftError(f'max_running (--max_batch_size) must be >= 1, got {max_running}')
        if max_waiting < 0:
            raise SwiftError(f'--max_queue_size must be >= 0, got {max_waiting}')
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.running = 0  # weight of the requests holding slots
        self.running_requests = 0
        self._waiters: Deque[Tuple[asyncio.Future, int]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @contextlib.asynccontextmanager
    async def slot(self, weight: int = 1) -> AsyncIterator[None]:
        await self.acquire(weight)
        try:
            yield
        finally:
            self.release(weight)

    async def acquire(self, weight: int = 1) -> None:
        if weight > self.max_running:
            raise RequestTooLarge(f'this request needs {weight} sequences at once but the server runs at most '
                             f'{self.max_running} (--max_batch_size); lower n or send fewer prompts')
        if not self._waiters and self.running + weight <= self.max_running:
            self._take(weight)
            return
        if len(self._waiters) >= self.max_waiting:
            raise QueueFull()
        future = asyncio.get_running_loop().create_future()
        entry = (future, weight)
        self._waiters.append(entry)
        try:
            await future  # resolved by release() after it has taken the slot for us
        except BaseException:
            if future.done() and not future.cancelled():
                self.release(weight)  # the slot arrived just as we were cancelled: give it back
            else:
                with contextlib.suppress(ValueError):  # _wake may have dropped it already
                    self._waiters.remove(entry)
                self._wake()  # we may have blocked smaller requests behind us
            raise

    def release(self, weight: int = 1) -> None:
        self.running -= weight
        self.running_requests -= 1
        self._wake()

    def _take(self, weight: int) -> None:
        self.running += weight
        self.running_requests += 1

    def _wake(self) -> None:
        """Hand free slots to the waiters at the head of the line, in order."""
        while self._waiters:
            future, weight = self._waiters[0]
            if future.cancelled():
                self._waiters.popleft()
                continue
            if self.running + weight > self.max_running:
                return
            self._waiters.popleft()
            self._take(weight)
            future.set_result(None)
