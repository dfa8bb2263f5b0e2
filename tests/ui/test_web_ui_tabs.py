"""The Deploy, Eval and Export tabs of `swift web-ui` in a real browser: each form launches its real job on the
tiny model, and the Jobs tab follows it to its end (deploy: its URL answers, then Kill stops it). One UI process
and one browser serve the three tests. The UI is started without --lang: a zh browser gets the zh page."""
import json
import re
import time
import urllib.request

import pytest

from tests.helpers.checkpoints import lora_checkpoint

from .conftest import Page, free_port
from .test_web_ui_browser import fill, tab, wait_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def ui(tmp_path_factory):
    home = tmp_path_factory.mktemp('web-ui-tabs')
    page = Page(['web-ui', '--server_port', str(free_port()), '--jobs_dir', str(home / 'jobs')], home,
                home / 'web-ui.log')
    page.home = home
    yield page
    page.stop()


@pytest.fixture
def page(browser, ui):
    page = browser.new_page(viewport={'width': 1280, 'height': 1000}, locale='en-US')
    page.goto(ui.url)
    yield page
    page.close()


def launch(page, command, fields, checks=()):
    """Fill the form, launch, and return the job id the page reports."""
    tab(page, command.capitalize())
    for name, value in fields.items():
        fill(page, command, name, value)
    for name in checks:
        page.locator(f'#{command}-{name} input[type="checkbox"]').check()
    wait_text(page, f'#{command}-command', re.escape(f'swift {command} ') + '.*' + re.escape(list(fields)[-1]))
    page.click(f'#{command}-launch')
    return wait_text(page, f'#{command}-message', r'Started job (\S+):').group(1)


@pytest.fixture(scope='module')
def jobs(browser, ui, tiny_model_dir, shared_data):
    """The three jobs, launched one after the other from their forms; they then run side by side (each test
    follows its own), which keeps the three tests' time near the slowest job's."""
    home = ui.home
    checkpoint = lora_checkpoint(tiny_model_dir, home / 'run' / 'checkpoint-1')
    page = browser.new_page(viewport={'width': 1280, 'height': 1000}, locale='en-US')
    page.goto(ui.url)
    port = free_port()
    launched = {
        'eval': launch(page, 'eval', {'model': str(tiny_model_dir), 'eval_dataset': 'arc_e', 'eval_limit': '2',
                                      'eval_dataset_dir': str(shared_data), 'eval_output_dir': str(home / 'eval-out')}),
        'export': launch(page, 'export', {'adapters': str(checkpoint), 'output_dir': str(home / 'merged')},
                         checks=['merge_lora']),
        'deploy': launch(page, 'deploy', {'model': str(tiny_model_dir), 'port': str(port), 'served_model_name': 'tiny'}),
    }
    page.close()
    launched['port'] = port
    return launched


def follow(page, job_id, until, timeout=240):
    """Pick the job in the Jobs tab and wait until its status line matches."""
    tab(page, 'Jobs')
    wait_text(page, '#jobs-table', re.escape(job_id))
    page.locator('#jobs-pick input').click()
    page.get_by_role('option', name=job_id).click()
    wait_text(page, '#jobs-status', re.escape(job_id))
    return wait_text(page, '#jobs-status', until, timeout=timeout)


def test_eval_tab_runs_a_benchmark(page, ui, jobs):
    follow(page, jobs['eval'], 'finished')
    assert 'arc_e' in page.locator('#jobs-log textarea').input_value()  # the score table
    [result] = (ui.home / 'eval-out').glob('*/*.json')
    assert json.loads(result.read_text())['results']['arc_e']['metrics']['n'] == 2


def test_export_tab_merges_alora_checkpoint(page, ui, jobs):
    follow(page, jobs['export'], 'finished')
    merged = ui.home / 'merged'
    assert (merged / 'config.json').is_file() and list(merged.glob('*.safetensors'))


def test_deploy_tab_serves_until_killed(page, jobs):
    url = follow(page, jobs['deploy'], r'Serving at (http://\S+/v1)').group(1)
    assert url == f'http://127.0.0.1:{jobs["port"]}/v1'
    body = json.dumps({'model': 'tiny', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 3,
                       'temperature': 0}).encode()
    request = urllib.request.Request(url + '/chat/completions', body, {'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=60) as answer:
        reply = json.loads(answer.read())
    assert reply['model'] == 'tiny' and reply['choices'][0]['message']['content'] is not None
    page.click('#jobs-kill')
    wait_text(page, '#jobs-status', 'killed', timeout=60)
    deadline = time.time() + 30  # the port is free again: the server is gone
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + '/models', timeout=2)
        except OSError:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f'{url} still answers after Kill')


def test_a_zh_browser_gets_the_zh_page(browser, ui, screenshots):
    page = browser.new_page(viewport={'width': 1280, 'height': 1000}, locale='zh-CN')
    page.goto(ui.url)
    page.get_by_role('tab', name='训练', exact=True).first.wait_for(timeout=30000)
    assert 'LoRA 的秩 r' in page.locator('#sft-lora_rank').inner_text()  # a translated help
    assert '启动' in page.locator('#sft-launch').inner_text()
    fill(page, 'sft', 'max_steps', 'x')  # an error replaces the help; fixed, the zh help is back
    wait_text(page, '#sft-max_steps', r"--max_steps: expected a whole number, got 'x'")
    fill(page, 'sft', 'max_steps', '5')
    wait_text(page, '#sft-max_steps', '优化器走完这么多步后停止')
    page.screenshot(path=str(screenshots / 'zh.png'))
    page.close()
