"""`--external_plugins my_plugin.py` on the command line adds a model and a template without touching swift."""
import json
import os
import subprocess
import sys

from tests.conftest import REPO

PLUGIN = '''
from swift.model.registry import Model, ModelGroup, ModelMeta, register_model
from swift.template import TemplateMeta, register_template

register_template(TemplateMeta(name='plugin_chat', prompt='<user>{{QUERY}}</user>', response='<bot>{{RESPONSE}}</bot>'))
register_model(ModelMeta(
    model_type='plugin_lm',
    model_groups=[ModelGroup([Model('plugin-org/Plugin-LM-1B', 'plugin-org/Plugin-LM-1B', aliases=['plugin-lm'])])],
    template='plugin_chat', architectures=['PluginLMForCausalLM']))
'''


def swift(*argv, env=None):
    return subprocess.run([sys.executable, '-m', 'swift.cli.main', *argv], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_list_shows_the_plugin_model_and_template(tmp_path):
    plugin = tmp_path / 'my_plugin.py'
    plugin.write_text(PLUGIN)
    assert 'plugin-org/Plugin-LM-1B' not in swift('list', 'models', '--filter', 'plugin').stdout
    models = json.loads(swift('list', 'models', '--filter', 'plugin', '--json', '--external_plugins',
                              str(plugin)).stdout)
    assert [(m['model_type'], m['template'], m['hf_model_id']) for m in models] == [
        ('plugin_lm', 'plugin_chat', 'plugin-org/Plugin-LM-1B')]
    templates = swift('list', 'templates', '--external_plugins', str(plugin), '--filter', 'plugin_chat').stdout
    assert 'plugin_chat' in templates and 'plugin_lm' in templates


def test_download_resolves_a_plugin_alias(tmp_path):
    plugin = tmp_path / 'my_plugin.py'
    plugin.write_text(PLUGIN)
    env = {'MODELSCOPE_CACHE': str(tmp_path / 'ms'), 'HF_HOME': str(tmp_path / 'hf'), 'SWIFT_CACHE': str(tmp_path)}
    done = swift('download', '--model', 'plugin-lm', '--offline', 'true', '--external_plugins', str(plugin), env=env)
    # Offline with no local copy: one clear line that names the registered hub ID the alias resolved to.
    assert done.returncode != 0 and 'Traceback' not in done.stderr
    assert 'plugin-org/Plugin-LM-1B' in done.stderr, done.stderr
    unknown = swift('download', '--model', 'plugin-lm', '--offline', 'true', env=env)
    assert 'plugin-org/Plugin-LM-1B' not in unknown.stderr


def test_broken_pipe_is_quiet():
    done = subprocess.run(f'{sys.executable} -m swift.cli.main list models --json | head -1', shell=True,
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.stdout.strip() == '[' and 'Traceback' not in done.stderr and 'BrokenPipe' not in done.stderr
