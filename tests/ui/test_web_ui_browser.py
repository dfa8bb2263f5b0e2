"""`swift web-ui` in a real browser: a bad value shows the CLI's error at its field and starts nothing; the
Train form runs a real job on the embedded model that the Jobs tab follows (curve points, a restart of the UI
while it runs, its end), and the Infer tab chats with the job's checkpoint."""
import json
import re
import time

import pytest

from .conftest import Page, free_port

pytestmark = pytest.mark.slow
ROWS = [{'messages': [{'role': 'user', 'content': f'What is {a} plus {b}?'},
                      {'role': 'assistant', 'content': f'{a} plus {b} is {a + b}.'}]} for a, b in
        [(1, 2), (3, 4), (5, 6), (7, 8), (2, 2), (4, 1)]]


@pytest.fixture(scope='module')
def ui_home(tmp_path_factory):
    home = tmp_path_factory.mktemp('web-ui')
    (home / 'jobs').mkdir()
    with open(home / 'tiny.jsonl', 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(row) + '\n' for row in ROWS)
    return home


def start_ui(home, port):
    return Page(['web-ui', '--server_port', str(port), '--jobs_dir', str(home / 'jobs'), '--lang', 'en'], home,
                home / f'web-ui-{time.time():.0f}.log')


def wait_text(page, selector, pattern, timeout=60.0):
    """Wait until the element's text matches; returns the match (the assertion says what was there)."""
    deadline = time.time() + timeout
    found = ''
    while time.time() < deadline:
        found = page.locator(selector).inner_text() if page.locator(selector).count() else ''
        match = re.search(pattern, found)
        if match:
            return match
        time.sleep(0.3)
    raise AssertionError(f'{selector}: no {pattern!r} after {timeout}s; it shows:\n{found[-2000:]}')


def fill(page, command, name, value):
    box = page.locator(f'#{command}-{name} textarea')
    box.fill(value)
    box.blur()


def tab(page, name):
    page.get_by_role('tab', name=name, exact=True).first.click()


def test_bad_value_shows_the_field_error_and_starts_nothing(browser, ui_home, screenshots):
    ui = start_ui(ui_home, free_port())
    try:
        page = browser.new_page(viewport={'width': 1280, 'height': 1000})
        page.goto(ui.url)
        fill(page, 'sft', 'model', 'smollm2-135m-instruct')
        fill(page, 'sft', 'dataset', str(ui_home / 'tiny.jsonl'))
        fill(page, 'sft', 'max_steps', 'five')
        wait_text(page, '#sft-max_steps', r"--max_steps: expected a whole number, got 'five'")
        page.click('#sft-launch')
        wait_text(page, '#sft-message', 'nothing was started')
        page.locator('#sft-max_steps').screenshot(path=str(screenshots / 'field-error.png'))
        fill(page, 'sft', 'max_steps', '5')
        fill(page, 'sft', 'dataset', str(ui_home / 'missing.jsonl'))
        wait_text(page, '#sft-dataset', r'--dataset: file not found: .*missing\.jsonl')
        assert 'max_steps' not in page.locator('#sft-max_steps').inner_text().replace('--max_steps', '')
        assert not list((ui_home / 'jobs').iterdir()), 'a job started from an invalid form'
        page.close()
    finally:
        ui.stop()


def test_train_job_survives_a_restart_then_chats_from_its_checkpoint(browser, ui_home, smollm_dir, screenshots):
    port = free_port()
    ui = start_ui(ui_home, port)
    try:
        page = browser.new_page(viewport={'width': 1280, 'height': 1000})
        page.goto(ui.url)
        for name, value in [('model', str(smollm_dir)), ('dataset', str(ui_home / 'tiny.jsonl')), ('max_steps', '5'),
                            ('logging_steps', '1'), ('save_steps', '5'), ('output_dir', str(ui_home / 'out'))]:
            fill(page, 'sft', name, value)
        # the preview follows the form as it is filled: wait for the last field filled (output_dir) to be in it
        out = re.escape(str(ui_home / 'out'))
        expected = rf'swift sft --model .*--output_dir {out} --max_steps 5 --logging_steps 1 --save_steps 5'
        command = wait_text(page, '#sft-command', expected).group(0)
        page.screenshot(path=str(screenshots / 'train.png'))
        page.click('#sft-launch')
        job_id = wait_text(page, '#sft-message', r'Started job (\S+):').group(1)
        tab(page, 'Jobs')
        wait_text(page, '#jobs-table', re.escape(job_id))
        wait_text(page, '#jobs-status', 'running')
        assert command in page.locator('#jobs-status').inner_text()

        ui.stop()  # the UI goes away while the job runs; a new one finds it on disk
        ui = start_ui(ui_home, port)
        page.goto(ui.url)
        tab(page, 'Jobs')
        wait_text(page, '#jobs-table', re.escape(job_id))
        points = wait_text(page, '#jobs-points', r'loss: (\d+) points', timeout=480)
        assert int(points.group(1)) >= 1
        wait_text(page, '#jobs-status', 'finished', timeout=480)
        assert int(wait_text(page, '#jobs-points', r'loss: (\d+) points').group(1)) == 5  # logging_steps 1
        assert page.locator('#jobs-plot img, #jobs-plot svg, #jobs-plot canvas').count() >= 1
        page.screenshot(path=str(screenshots / 'jobs.png'), full_page=True)

        tab(page, 'Infer')
        page.click('#infer-refresh')
        deadline = time.time() + 60  # the refreshed list arrives from the server
        while not page.locator('#infer-checkpoint input').input_value() and time.time() < deadline:
            time.sleep(0.3)
        checkpoint = page.locator('#infer-checkpoint input').input_value()
        assert checkpoint.endswith('checkpoint-5'), checkpoint
        page.click('#infer-load')
        wait_text(page, '#infer-status', 'Loaded', timeout=120)
        assert 'takes text only' in page.locator('#infer-status').inner_text()  # and so no upload box:
        assert not page.locator('#infer-image').is_visible()
        page.locator('#infer-message textarea').fill('What is 3 plus 4?')
        page.click('#infer-send')
        wait_text(page, '#infer-answer-status', r'Answered in', timeout=180)  # the stream has ended
        assert page.locator('#infer-chatbot [data-testid="bot"]').last.inner_text().strip()
        page.screenshot(path=str(screenshots / 'infer.png'), full_page=True)
        for name in ('RLHF', 'Deploy', 'Eval', 'Export'):
            tab(page, name)
            page.screenshot(path=str(screenshots / f'{name.lower()}.png'))
        page.close()
    finally:
        ui.stop()
