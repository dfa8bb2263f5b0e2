"""zh for every label: the web UI built with --lang zh has no English-only label, tab, section, button or column
(the flag names that label fields are the CLI's, the same in every language), and the help of every field of
every form, advanced sections included, is Chinese: a new flag without a translation fails here."""
import re

import pytest

from swift.ui.chat import SETTINGS
from swift.ui.forms import FormSpec
from swift.ui.i18n import GROUPS_ZH, HELP_ZH, Labels, help_text

_CJK = re.compile(r'[\u4e00-\u9fff]')


def _needs_zh(value) -> bool:
    """A text a zh page must not show in English only: words, not a flag name or a command."""
    if not isinstance(value, str) or not value.strip():
        return False
    if value.startswith('--') or value.startswith('swift ') or value.startswith('## swift'):
        return False
    return bool(re.search(r'[A-Za-z]{2,}', value)) and not _CJK.search(value)


@pytest.fixture(scope='module')
def zh_config(tmp_path_factory):
    from swift.ui.jobs import JobStore
    from swift.ui.web_ui import build_web_ui
    return build_web_ui(JobStore(tmp_path_factory.mktemp('jobs')), lang='zh').get_config_file()


def _english_only(config):
    """(the texts that are English only, how many texts were looked at)"""
    english, seen = [], 0
    for component in config['components']:
        props = component.get('props', {})
        texts = [props.get('label')]
        if component.get('type') == 'button':
            texts.append(props.get('value'))
        if component.get('type') == 'markdown':
            texts.append(props.get('value'))
        if component.get('type') == 'dataframe':
            texts += list((props.get('value') or {}).get('headers') or props.get('headers') or [])
        english += [f'{component.get("type")} {props.get("elem_id")}: {t!r}' for t in texts if _needs_zh(t)]
        seen += sum(isinstance(t, str) and bool(t.strip()) for t in texts)
    return english, seen


def test_the_zh_page_has_no_english_only_label(zh_config):
    english, seen = _english_only(zh_config)
    assert not english, '\n'.join(english)
    assert seen > 500  # the walk reads every field, tab, section and button


def test_the_zh_page_has_chinese_tabs(zh_config):
    labels = {c['props'].get('label') for c in zh_config['components'] if c.get('type') == 'tabitem'}
    assert {'训练', '人类对齐', '推理', '部署', '评测', '导出', '任务'} <= labels


def test_the_help_of_every_field_is_translated(zh_config):
    """Every field the zh page shows (top and advanced sections of every form, the chat's generation settings)."""
    helps = {c['props']['elem_id']: c['props']['info'] for c in zh_config['components']
             if c.get('props', {}).get('info') and c['props'].get('elem_id')}
    untranslated = [f'{elem}: {info!r}' for elem, info in helps.items() if not _CJK.search(info)]
    assert not untranslated, 'add their Chinese to swift/ui/help_zh.py HELP_ZH:\n' + '\n'.join(untranslated)
    shown = {f'{command}-{name}' for command in ('sft', 'pt', 'rlhf', 'deploy', 'eval', 'export')
             for name in FormSpec(command).fields}
    shown |= {f'infer-{name}' for name in SETTINGS}  # the chat's generation settings
    assert shown <= set(helps), sorted(shown - set(helps))  # the walk saw every field of every form


def test_the_tables_translate_and_the_browser_language_picks_them():
    for english, chinese in {**GROUPS_ZH, **HELP_ZH}.items():
        assert _CJK.search(chinese), english
    assert Labels('zh').help('LoRA rank r') == 'LoRA 的秩 r' and Labels('en').help('LoRA rank r') == 'LoRA rank r'
    assert Labels('zh').help('not in the table') == 'not in the table'
    assert help_text('LoRA rank r', 'zh') == 'LoRA 的秩 r' and help_text('LoRA rank r', 'en') == 'LoRA rank r'
    auto = Labels(None)  # the browser's language: one I18n entry with both texts
    entry = auto.help('LoRA rank r')
    assert entry.key in auto.i18n.translations['zh'] and auto.i18n.translations['zh'][entry.key] == 'LoRA 的秩 r'
