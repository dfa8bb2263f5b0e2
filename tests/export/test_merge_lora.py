"""`swift export --merge_lora`: merged weights equal base + adapter, plain transformers loads them, and the
exported chat_template renders like swift's template."""
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from swift.export.main import export_main
from swift.template import get_template
from swift.utils import SwiftError

CONVERSATIONS = [
    ([{'role': 'user', 'content': 'What is the capital of France?'}], True),
    ([{'role': 'system', 'content': 'Answer in one word.'}, {'role': 'user', 'content': 'Capital of Italy?'}], True),
    ([{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello! How can I help?'},
      {'role': 'user', 'content': 'Tell me a joke.'}], True),
    ([{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': '2+2?'},
      {'role': 'assistant', 'content': '4'}], False),
    ([{'role': 'user', 'content': '  spaced  {{ braces }} 你好 🌍\n'}], False),
]


def logits(model, input_ids):
    with torch.inference_mode():
        return model(input_ids=input_ids).logits.float()


@pytest.mark.parametrize('kind', ['lora', 'dora', 'rslora'])
def test_merged_logits_equal_base_plus_adapter(kind, adapter_checkpoints, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    checkpoint = adapter_checkpoints(kind)
    weights = load_file(str(checkpoint / 'adapter_model.safetensors'))
    assert any('lora_B' in k and v.abs().max() > 0 for k, v in weights.items())  # trained: B moved off zero
    config = json.loads((checkpoint / 'adapter_config.json').read_text())
    assert config['use_dora'] == (kind == 'dora') and config['use_rslora'] == (kind == 'rslora')

    result = export_main(['--adapters', str(checkpoint), '--merge_lora', 'true', '--output_dir', str(tmp_path / 'm')])
    out = Path(result.output_dir)
    assert out == tmp_path / 'm' and result.kind == 'merged'
    assert list(out.glob('*.safetensors')) and not list(out.glob('*.bin'))
    merged = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    assert not any('lora' in name for name, _ in merged.named_parameters())
    reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir),
                                                                               dtype=torch.float32),
                                          str(checkpoint)).eval()
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    input_ids = tokenizer.apply_chat_template(CONVERSATIONS[2][0], add_generation_prompt=True, return_tensors='pt',
                                              return_dict=True)['input_ids']
    merged_logits = logits(merged, input_ids)
    assert (merged_logits - logits(reference, input_ids)).abs().max() <= 1e-4
    assert (merged_logits - logits(base, input_ids)).abs().max() > 1e-3  # the adapter changed the model


def test_exported_chat_template_renders_like_swift(adapter_checkpoints, tmp_path):
    from transformers import AutoTokenizer
    out = Path(export_main(adapters=[str(adapter_checkpoints('lora'))], merge_lora=True,
                           output_dir=str(tmp_path / 'm')).output_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    template = get_template('smollm2')  # the checkpoint's template (args.json), default system prompt
    for messages, add_generation_prompt in CONVERSATIONS:
        assert tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt) \
            == template.render(messages, add_generation_prompt=add_generation_prompt)
    saved = json.loads((out / 'args.json').read_text())
    assert saved['template'] == 'smollm2' and saved['merged_adapter'] == str(adapter_checkpoints('lora'))
    from swift.model.resolve import resolve_model
    assert resolve_model(str(out)).template == 'smollm2'  # swift infer/deploy --model <out> find the template


def test_system_prompt_of_the_run_is_baked_into_the_chat_template(adapter_checkpoints, tmp_path):
    from transformers import AutoTokenizer
    out = export_main(adapters=[str(adapter_checkpoints('lora'))], merge_lora=True, output_dir=str(tmp_path / 'm'),
                      system='You are Nova.').output_dir
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    messages = [{'role': 'user', 'content': 'Who are you?'}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == get_template('smollm2', default_system='You are Nova.').render(messages, True)
    assert 'You are Nova.' in rendered


def test_output_is_atomic_and_never_overwritten(adapter_checkpoints, tmp_path, monkeypatch):
    checkpoint = str(adapter_checkpoints('lora'))
    target = tmp_path / 'm'

    def fail(*args, **kwargs):
        raise RuntimeError('disk full')

    monkeypatch.setattr('swift.export.merge_lora.write_run_args', fail)  # fails after the weights are written
    with pytest.raises(RuntimeError):
        export_main(adapters=[checkpoint], merge_lora=True, output_dir=str(target))
    assert not target.exists() and list(tmp_path.iterdir()) == []  # no half-written model, no temp dir
    monkeypatch.undo()
    target.mkdir()
    (target / 'keep.txt').write_text('mine')
    with pytest.raises(SwiftError, match='already exists'):
        export_main(adapters=[checkpoint], merge_lora=True, output_dir=str(target))
    assert (target / 'keep.txt').read_text() == 'mine'


def test_arguments_errors():
    with pytest.raises(SwiftError, match='nothing to export'):
        export_main(model='x')
    with pytest.raises(SwiftError, match='one adapter'):
        export_main(model='x', adapters=['a', 'b'], merge_lora=True)


def test_cli_default_output_dir(adapter_checkpoints, tmp_path, capsys):
    """`swift export` as the command line calls it (main(argv) in this process: a subprocess would add ~4 s of
    imports; `python -m swift.cli.main` itself is tested in tests/cli/test_main.py)."""
    import shutil
    from swift.cli.main import main
    checkpoint = tmp_path / 'checkpoint-2'
    shutil.copytree(adapter_checkpoints('rslora'), checkpoint)
    code = main(['export', '--adapters', str(checkpoint), '--merge_lora', 'true'])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = tmp_path / 'checkpoint-2-merged'
    assert (out / 'config.json').is_file() and (out / 'tokenizer_config.json').is_file()
    assert captured.out.strip().endswith(str(out))
