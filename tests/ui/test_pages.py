"""The page flags (loopback by default, a warning when reachable without a password) and both languages."""
import logging

import pytest

from swift.arguments.ui import AppArguments, WebUIArguments
from swift.ui.i18n import TEXTS, request_lang, text
from swift.utils import SwiftError
from swift.utils.args import parse_args


class _Recorder:
    def launch(self, **kwargs):
        self.kwargs = kwargs


class _Labels:
    i18n = None


def _launch(argv, caplog):
    from swift.ui.web_ui import launch_page
    page = _Recorder()
    with caplog.at_level(logging.WARNING):
        launch_page(page, parse_args(WebUIArguments, argv), _Labels())
    return page.kwargs


def test_loopback_by_default_and_a_warning_when_exposed_without_auth(caplog):
    kwargs = _launch([], caplog)
    assert kwargs['server_name'] == '127.0.0.1' and kwargs['auth'] is None and not kwargs['share']
    assert 'without a password' not in caplog.text
    _launch(['--server_name', '0.0.0.0'], caplog)
    assert 'reachable from 0.0.0.0 without a password' in caplog.text
    caplog.clear()
    kwargs = _launch(['--server_name', '0.0.0.0', '--auth', 'ann:pw', '--server_port', '7999'], caplog)
    assert kwargs['auth'] == ('ann', 'pw') and kwargs['server_port'] == 7999
    assert 'without a password' not in caplog.text


def test_bad_page_flags_are_refused():
    with pytest.raises(SwiftError, match='--lang must be one of en, zh'):
        parse_args(WebUIArguments, ['--lang', 'fr'])
    with pytest.raises(SwiftError, match='--auth must be user:password'):
        parse_args(WebUIArguments, ['--auth', 'nopassword'])
    with pytest.raises(SwiftError, match='--model is required'):
        parse_args(AppArguments, [])


def test_every_text_in_both_languages():
    for key, (en, zh) in TEXTS.items():
        assert en.strip() and zh.strip() and en != zh, key
        assert any('\u4e00' <= ch <= '\u9fff' for ch in zh), key
    assert text('launched', 'zh', job='j1') == '已启动任务 j1：请在“任务”页查看。'

    class Request:
        headers = {'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8'}
    assert request_lang(Request(), None) == 'zh' and request_lang(Request(), 'en') == 'en'


def test_bad_flags_answer_on_one_line_before_gradio_loads():
    import subprocess
    import sys

    from tests.conftest import REPO
    for argv, message in [(['web-ui', '--lang', 'fr'], "--lang must be one of en, zh, not 'fr'"),
                          (['app', '--studio_titel', 'x', '--model', 'm'], 'Did you mean: studio_title'),
                          (['menu', '--max_steps', '0'], '--max_steps must be >= 1')]:
        code = ('import sys; from swift.cli.main import main; rc = main(sys.argv[1:]); '
                'assert "gradio" not in sys.modules and "torch" not in sys.modules; sys.exit(rc)')
        done = subprocess.run([sys.executable, '-c', code, *argv], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 1 and message in done.stderr, done.stderr
        assert done.stderr.strip().count('\n') == 0, done.stderr
