"""`swift infer --adapters checkpoint-N` alone: model, template and system prompt come from args.json."""
import io
import json

import pytest

import swift.infer.main as infer
from swift.arguments import InferArguments
from swift.infer.checks import check_infer_args
from swift.utils.args import parse_args

SYSTEM = 'You are the checkpoint bot.'


def _checkpoint(tiny_model_dir, path, args_in_parent: bool):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    model = get_peft_model(base, LoraConfig(r=4, target_modules=['q_proj', 'v_proj'], init_lora_weights=False))
    model.save_pretrained(str(path))
    # chatml (no default system) differs from what the tiny model's own chat template would give
    saved = {'model': str(tiny_model_dir), 'template': 'chatml', 'system': SYSTEM, 'lora_rank': 4}
    (path.parent if args_in_parent else path).joinpath('args.json').write_text(json.dumps(saved))
    return path


@pytest.mark.parametrize('args_in_parent', [False, True], ids=['in-checkpoint', 'in-output-dir'])
def test_adapters_alone_take_model_template_and_system_from_args_json(tiny_model_dir, tmp_path, monkeypatch,
                                                                      args_in_parent):
    checkpoint = _checkpoint(tiny_model_dir, tmp_path / 'v0-run' / 'checkpoint-3', args_in_parent)
    args = parse_args(InferArguments, ['--adapters', str(checkpoint), '--max_new_tokens', '3'])
    assert args.model is None  # parsing reads no files: the check the run makes first fills them in
    check_infer_args(args)
    assert (args.model, args.template, args.system) == (str(tiny_model_dir), 'chatml', SYSTEM)

    engines, prompts = [], []
    build_engine = infer.build_engine

    def recording_build_engine(infer_args):
        engine = build_engine(infer_args)
        encode = engine._encode
        engine._encode = lambda request: prompts.append(encode(request)) or prompts[-1]
        engines.append(engine)
        return engine

    monkeypatch.setattr(infer, 'build_engine', recording_build_engine)
    stdout = io.StringIO()
    assert infer.infer_main(args, io.StringIO('hello there\n'), stdout).answered == 1  # pipe mode: one answer
    assert len(stdout.getvalue().splitlines()) == 1
    engine = engines[0]
    assert engine.template.name == 'chatml' and engine.adapters == ['default']
    assert engine.tokenizer.model_info.model_id == str(tiny_model_dir)  # the base model named in args.json
    expected = [{'role': 'system', 'content': SYSTEM}, {'role': 'user', 'content': 'hello there'}]
    assert prompts == [engine.template.encode({'messages': expected}, for_inference=True)['input_ids']]
    rendered = engine.tokenizer.decode(prompts[0])
    assert rendered.startswith(f'<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nhello there')


def test_flags_win_over_args_json(tiny_model_dir, tmp_path):
    checkpoint = _checkpoint(tiny_model_dir, tmp_path / 'checkpoint-1', args_in_parent=False)
    args = check_infer_args(parse_args(InferArguments, ['--adapters', f'mine={checkpoint}', '--template', 'smollm2',
                                                        '--system', 'Flag system.']))
    assert (args.model, args.template, args.system) == (str(tiny_model_dir), 'smollm2', 'Flag system.')
