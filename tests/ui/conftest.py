"""Browser fixtures: headless Chromium from Debian's `chromium` package driven by Playwright (no browser
download), and `swift web-ui` / `swift app` started as the user starts them, on a free port."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get('SWIFT_TEST_CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
_URL = re.compile(r'Running on local URL:\s+(http://\S+)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Page:
    """A swift page served by a subprocess; stop() ends it (and only it)."""

    def __init__(self, argv, cwd: Path, log: Path, timeout: float = 300):
        env = {**os.environ, 'PYTHONPATH': str(REPO), 'GRADIO_ANALYTICS_ENABLED': 'False', 'PYTHONUNBUFFERED': '1'}
        self.log = log
        self.process = subprocess.Popen([sys.executable, '-m', 'swift.cli.main', *argv], cwd=cwd, env=env,
                                        stdout=open(log, 'w'), stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            match = _URL.search(log.read_text(errors='replace'))
            if match:
                self.url = match.group(1)
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise AssertionError(f'swift {argv[0]} did not start:\n{log.read_text(errors="replace")[-3000:]}')

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope='module')
def browser():
    """Chromium through playwright's sync API, one per test module: while it is open the thread has a running
    asyncio loop (playwright's), so code under test that calls asyncio.run() would fail in the same process; the
    module scope closes it before the next module, which under pytest-xdist may be any other test."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f'{CHROMIUM} is missing: install Debian\'s chromium (apt-get install chromium; make test does)')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        yield browser
        browser.close()


@pytest.fixture(scope='session')
def screenshots(tmp_path_factory) -> Path:
    """Screenshots of each tab, in the test run's tmp dir (docs/images/ holds a committed set)."""
    return tmp_path_factory.mktemp('screenshots')
