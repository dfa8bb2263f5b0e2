"""`swift app` in a real browser: the embedded model answers a question, streamed into the chat (a text-only
model: no image upload on the page); a tiny VLM answers about an uploaded image exactly what the engine answers
in-process for the same image."""
import random
import time

import pytest

from .conftest import Page, free_port

pytestmark = pytest.mark.slow


def wait_answer(page, prefix, timeout=180):
    """Every distinct text of the last answer while it grows, until the page says it has ended."""
    bot = page.locator(f'#{prefix}-chatbot [data-testid="bot"]')
    status = page.locator(f'#{prefix}-answer-status')
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline and 'Answered in' not in status.inner_text():
        answer = bot.last.inner_text() if bot.count() else ''
        if answer.strip() and (not seen or answer != seen[-1]):
            seen.append(answer)
        time.sleep(0.05)
    assert 'Answered in' in status.inner_text(), f'no answer within {timeout} s: {status.inner_text()!r}'
    final = bot.last.inner_text()
    if not seen or seen[-1] != final:
        seen.append(final)
    return seen


def test_app_streams_the_answer_paris(browser, smollm_dir, tmp_path, screenshots):
    app = Page(['app', '--model', str(smollm_dir), '--server_port', str(free_port()), '--studio_title', 'SmolLM2 chat',
                '--lang', 'en'], tmp_path, tmp_path / 'app.log')
    try:
        page = browser.new_page(viewport={'width': 1100, 'height': 800})
        page.goto(app.url)
        assert 'SmolLM2 chat' in page.locator('#app-title').inner_text()
        # a text-only model: no upload box, and the page says why
        assert 'takes text only' in page.locator('#app-modality').inner_text()  # waits for the page to render
        assert page.locator('#app-image').count() == 0 or not page.locator('#app-image').is_visible()
        page.locator('#app-message textarea').fill('What is the capital of France?')
        page.click('#app-send')
        seen = wait_answer(page, 'app')
        final = seen[-1]
        assert 'Paris' in final, f'the answers seen: {seen}'
        assert len(seen) >= 2 and final.startswith(seen[0].rstrip()), f'not streamed (one text only): {seen}'
        page.screenshot(path=str(screenshots / 'app.png'))
        page.close()
    finally:
        app.stop()


def test_app_answers_about_an_uploaded_image(browser, tiny_vlm_dir, tmp_path, screenshots):
    from swift.infer.protocol import InferRequest, RequestConfig
    from swift.infer.transformers_engine import TransformersEngine
    from tests.helpers.shapes import draw
    image = tmp_path / 'shape.png'
    draw('red', 'circle', random.Random(3)).save(image)
    question = 'What colour is the shape?'
    app = Page(['app', '--model', str(tiny_vlm_dir), '--server_port', str(free_port()), '--lang', 'en',
                '--temperature', '0', '--max_new_tokens', '8'], tmp_path, tmp_path / 'app.log')
    try:
        page = browser.new_page(viewport={'width': 1100, 'height': 900})
        page.goto(app.url)
        page.locator('#app-image').wait_for(state='visible', timeout=30000)
        assert page.locator('#app-modality').count() == 0
        page.locator('#app-image input[type="file"]').set_input_files(str(image))
        page.locator('#app-image img').first.wait_for(timeout=30000)  # uploaded: the preview is there
        page.locator('#app-message textarea').fill(question)
        page.click('#app-send')
        answer = wait_answer(page, 'app', timeout=120)[-1]
        assert page.locator('#app-chatbot [data-testid="user"] img').count() == 1  # the turn shows its image
        page.screenshot(path=str(screenshots / 'app-image.png'))
        page.close()
    finally:
        app.stop()
    greedy = RequestConfig(max_tokens=8, temperature=0)
    with TransformersEngine(str(tiny_vlm_dir)) as engine:
        [expected] = engine.infer([InferRequest([{'role': 'user', 'content': f'<image>{question}'}],
                                                images=[str(image)])], greedy)
    # The tiny random VLM's answers do not depend on the pixels (it answers the same to every image), so
    # that the page hands the image to the engine is proved by tests/ui/test_chat.py, not by this answer.
    assert answer.strip() == expected.choices[0].message.content.strip()
