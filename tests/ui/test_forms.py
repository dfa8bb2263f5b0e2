"""Forms are the arguments classes: every field, its default and help, and the CLI's own errors by field."""
import pytest

from swift.arguments import COMMAND_ARGUMENTS, RLHF_ARGUMENT_CLASSES, SftArguments
from swift.ui.forms import CHECKS, GENERAL, PRIMARY, FormSpec
from swift.utils.args import argument_fields, parse_args

COMMANDS = ('sft', 'pt', 'rlhf', 'deploy', 'eval', 'export')


@pytest.mark.parametrize('command', COMMANDS)
def test_every_field_of_the_command_is_in_its_form(command):
    form = FormSpec(command)
    classes = list(RLHF_ARGUMENT_CLASSES.values()) if command == 'rlhf' else [COMMAND_ARGUMENTS[command]]
    expected = set().union(*(argument_fields(cls) for cls in classes))
    assert set(form.fields) == expected
    assert set(PRIMARY[command]) <= expected, 'a primary field that the command does not take'
    assert command in CHECKS
    for spec in form.fields.values():
        f = argument_fields(classes[0]).get(spec.name) or next(
            argument_fields(c)[spec.name] for c in classes if spec.name in argument_fields(c))
        assert spec.help == f.metadata.get('help', '')


def test_untouched_form_runs_the_defaults_and_values_parse_as_the_cli():
    form = FormSpec('sft')
    defaults = {name: spec.default for name, spec in form.fields.items()}
    assert form.argv(defaults) == []
    values = {**defaults, 'model': 'smollm2-135m-instruct', 'dataset': 'a.jsonl "b c.jsonl"', 'max_steps': '7',
              'packing': True, 'columns': '{"q": "query"}', 'report_to': ''}
    argv = form.argv(values)
    assert form.command_line(argv) == ("swift sft --model smollm2-135m-instruct --dataset a.jsonl 'b c.jsonl' "
                                       "--columns '{\"q\": \"query\"}' --max_steps 7 --report_to --packing true")
    args = parse_args(SftArguments, argv)
    assert args.dataset == ['a.jsonl', 'b c.jsonl'] and args.max_steps == 7 and args.packing
    assert args.columns == {'q': 'query'} and args.report_to == []


def test_errors_are_the_cli_messages_by_field(tmp_path):
    form = FormSpec('sft')
    data = tmp_path / 'rows.jsonl'
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
    good = ['--model', 'smollm2-135m-instruct', '--dataset', str(data)]
    assert form.errors(good) == {}
    assert form.errors(good + ['--max_steps', 'x']) == {'max_steps': "--max_steps: expected a whole number, got 'x'"}
    assert 'warmup_ratio' in form.errors(good + ['--warmup_ratio', '2'])
    assert 'tuner_type' in form.errors(good + ['--tuner_type', 'lorra'])  # the stage's check (the tuner registry)
    missing = form.errors(['--model', 'm', '--dataset', str(tmp_path / 'nope.jsonl')])
    assert 'file not found' in missing['dataset']
    assert 'dataset' in form.errors(['--model', 'm'])  # "--dataset is required"
    assert GENERAL in form.errors(good + ['--nonsense', '1'])


def test_rlhf_fields_name_their_algorithms_and_foreign_ones_are_refused():
    form = FormSpec('rlhf')
    assert form.fields['vf_coef'].owners == ('ppo',)
    assert form.fields['learning_rate'].owners == ()
    errors = form.errors(['--model', 'm', '--dataset', 'swift/self-cognition', '--vf_coef', '0.2'])
    assert errors == {'vf_coef': '--vf_coef is a PPO option; this run is dpo'}


def test_bool_fields_are_checkboxes_and_optional_bools_three_way():
    form = FormSpec('deploy')
    assert form.fields['merge_lora'].kind == 'bool' and form.fields['merge_lora'].default is False
    assert FormSpec('sft').fields['dataset'].kind == 'list'
    assert FormSpec('infer').fields['stream'].kind == 'tristate'
