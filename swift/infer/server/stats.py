"""Server counters and the periodic log line: requests in flight, waiting, tokens/s."""
import asyncio
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from swift.utils import get_logger

logger = get_logger('swift.deploy')


@dataclass
class ServerStats:
    finished: int = 0  # requests answered (4xx/5xx included)
    rejected: int = 0  # 429s
    failed: int = 0  # 4xx and 5xx other than 429
    completion_tokens: int = 0  # counted from responses' usage (streams without usage count at the end)

    def snapshot(self, admission, engine) -> Dict[str, Any]:
        engine_stats = engine.stats() if hasattr(engine, 'stats') else {}
        return {'running': admission.running_requests, 'waiting': admission.waiting, 'finished': self.finished,
                'rejected': self.rejected, 'failed': self.failed,
                'generated_tokens': engine_stats.get('generated_tokens', self.completion_tokens),
                'engine': engine_stats}


class PeriodicLogger:
    """Logs one line every `interval` seconds while there is something to tell."""

    def __init__(self, stats: ServerStats, admission, engine, interval: float):
        self.stats, self.admission, self.engine, self.interval = stats, admission, engine, interval
        self._last_tokens = 0
        self._last_time = time.monotonic()
        self._last_finished = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            line = self.line()
            if line:
                logger.info(line)

    def line(self) -> Optional[str]:
        snap = self.stats.snapshot(self.admission, self.engine)
        now = time.monotonic()
        tokens_per_s = (snap['generated_tokens'] - self._last_tokens) / max(now - self._last_time, 1e-9)
        idle = (not snap['running'] and not snap['waiting'] and snap['finished'] == self._last_finished
                and snap['generated_tokens'] == self._last_tokens)
        self._last_tokens, self._last_time, self._last_finished = snap['generated_tokens'], now, snap['finished']
        if idle:
            return None
        return (f'requests: {snap["running"]} running, {snap["waiting"]} waiting, {snap["finished"]} finished, '
                f'{snap["rejected"]} rejected (429) | generation: {tokens_per_s:.1f} tokens/s')
