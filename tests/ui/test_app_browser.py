"""`swift app` in a real browser: the embedded model answers a question, streamed into the chat."""
import time

import pytest

from .conftest import Page, free_port

pytestmark = pytest.mark.slow


def test_app_streams_the_answer_paris(browser, smollm_dir, tmp_path, screenshots):
    app = Page(['app', '--model', str(smollm_dir), '--server_port', str(free_port()), '--studio_title', 'SmolLM2 chat',
                '--lang', 'en'], tmp_path, tmp_path / 'app.log')
    try:
        page = browser.new_page(viewport={'width': 1100, 'height': 800})
        page.goto(app.url)
        assert 'SmolLM2 chat' in page.locator('#app-title').inner_text()
        page.locator('#app-message textarea').fill('What is the capital of France?')
        page.click('#app-send')
        bot = page.locator('#app-chatbot [data-testid="bot"]')
        seen = []  # each distinct text of the answer while it grows
        deadline, settled = time.time() + 180, None
        while time.time() < deadline:
            answer = bot.last.inner_text() if bot.count() else ''
            if answer.strip() and (not seen or answer != seen[-1]):
                seen.append(answer)
                settled = time.time()
            if 'Paris' in answer and time.time() - settled > 2:  # unchanged for 2 s: the answer is complete
                break
            time.sleep(0.05)
        assert seen and 'Paris' in seen[-1], f'the answers seen: {seen}'
        assert len(seen) >= 2 and seen[-1].startswith(seen[0].rstrip()), f'not streamed: {seen}'
        page.screenshot(path=str(screenshots / 'app.png'))
        page.close()
    finally:
        app.stop()
