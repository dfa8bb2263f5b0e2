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
        seen = []  # each distinct text of the answer while it grows, until the page says it has ended
        deadline = time.time() + 180
        while time.time() < deadline and 'Answered in' not in page.locator('#app-answer-status').inner_text():
            answer = bot.last.inner_text() if bot.count() else ''
            if answer.strip() and (not seen or answer != seen[-1]):
                seen.append(answer)
            time.sleep(0.05)
        assert 'Answered in' in page.locator('#app-answer-status').inner_text(), 'no answer within 180 s'
        final = bot.last.inner_text()
        if not seen or seen[-1] != final:
            seen.append(final)
        assert 'Paris' in final, f'the answers seen: {seen}'
        assert len(seen) >= 2 and final.startswith(seen[0].rstrip()), f'not streamed (one text only): {seen}'
        page.screenshot(path=str(screenshots / 'app.png'))
        page.close()
    finally:
        app.stop()
