"""Admission: running slots and a bounded FIFO waiting line (pure asyncio, no server)."""
import asyncio

import pytest

from swift.infer.server.admission import Admission, QueueFull, RequestTooLarge
from swift.infer.server.errors import from_exception
from swift.infer.protocol import PromptTooLongError, RequestConfig
from swift.utils import SwiftError


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 10))


def test_waiters_run_in_order_and_the_line_is_bounded():
    async def scenario():
        admission = Admission(max_running=2, max_waiting=2)
        order = []

        async def request(name, hold):
            async with admission.slot():
                order.append(name)
                await hold.wait()

        holds = {name: asyncio.Event() for name in 'abcd'}
        tasks = {name: asyncio.create_task(request(name, holds[name])) for name in 'abcd'}
        await asyncio.sleep(0.01)
        assert order == ['a', 'b'] and admission.running == 2 and admission.waiting == 2
        with pytest.raises(QueueFull):
            await admission.acquire()
        holds['b'].set()
        await asyncio.sleep(0.01)
        assert order == ['a', 'b', 'c'] and admission.waiting == 1
        for event in holds.values():
            event.set()
        await asyncio.gather(*tasks.values())
        assert order == ['a', 'b', 'c', 'd'] and admission.running == 0 and admission.running_requests == 0

    run(scenario())


def test_a_cancelled_waiter_leaves_the_line():
    async def scenario():
        admission = Admission(max_running=1, max_waiting=1)
        await admission.acquire()
        waiter = asyncio.create_task(admission.acquire())
        await asyncio.sleep(0.01)
        assert admission.waiting == 1
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert admission.waiting == 0
        admission.release()
        assert admission.running == 0
        await admission.acquire()  # the slot is free again, nobody took it
        assert admission.running == 1

    run(scenario())


def test_weights_and_oversized_requests():
    async def scenario():
        admission = Admission(max_running=4, max_waiting=4)
        await admission.acquire(3)
        second = asyncio.create_task(admission.acquire(2))
        await asyncio.sleep(0.01)
        assert not second.done()  # 3 + 2 > 4
        admission.release(3)
        await second
        assert admission.running == 2
        with pytest.raises(RequestTooLarge):
            await admission.acquire(5)

    run(scenario())


def test_bad_limits_and_error_mapping():
    with pytest.raises(SwiftError):
        Admission(max_running=0, max_waiting=1)
    with pytest.raises(SwiftError):
        Admission(max_running=1, max_waiting=-1)
    too_long = from_exception(PromptTooLongError('too long'))
    assert (too_long.status, too_long.code, too_long.param) == (400, 'context_length_exceeded', 'messages')
    with pytest.raises(SwiftError) as caught:
        RequestConfig(top_p=2).validate()
    assert from_exception(caught.value).param == 'top_p'
    assert from_exception(ValueError('boom')).status == 500
