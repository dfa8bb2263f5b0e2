"""`swift pt`: plain text is trained whole, with no chat format around it."""
import json
from pathlib import Path

from swift.template import get_template
from swift.training.sft import pt_main

TEXTS = ['The sky is blue because air scatters blue light more than red light.',
         'Rivers carry water from the mountains to the sea.', 'Bread is made from flour, water, salt and yeast.']


def test_raw_template_is_the_text_then_eos_all_trained(smollm_tokenizer):
    template = get_template('raw', tokenizer=smollm_tokenizer, loss_scale='all')
    encoded = template.encode({'messages': [{'role': 'assistant', 'content': TEXTS[0]}]})
    expected = smollm_tokenizer(TEXTS[0], add_special_tokens=False)['input_ids'] + [smollm_tokenizer.eos_token_id]
    assert encoded['input_ids'] == expected
    assert encoded['labels'] == expected  # no system prompt, no chat markers, every token trained, EOS included


def test_pt_trains_plain_text_files(tiny_model_dir, smollm_tokenizer, tmp_path):
    data = tmp_path / 'corpus.txt'
    data.write_text('\n'.join(TEXTS * 4) + '\n')
    result = pt_main(dict(model=str(tiny_model_dir), dataset=[str(data)], output_dir=str(tmp_path / 'out'),
                          max_steps=2, save_steps=2, logging_steps=1, per_device_train_batch_size=2,
                          report_to=['none'], lora_dropout=0.0))
    checkpoint = Path(result.last_checkpoint)
    saved = json.loads((checkpoint / 'args.json').read_text())
    assert saved['use_chat_template'] is False and saved['loss_scale'] == 'all'
    assert (checkpoint / 'adapter_model.safetensors').is_file()
    records = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
    # Each row is one line's tokens plus EOS, all trained (every token but the first is predicted).
    raw = get_template('raw', tokenizer=smollm_tokenizer)
    lengths = [len(raw.encode({'messages': [{'role': 'assistant', 'content': t}]})['input_ids']) for t in TEXTS]
    possible = {a + b - 2 for a in lengths for b in lengths}
    trained = [r['trained_tokens'] for r in records if 'trained_tokens' in r]
    assert len(trained) == 2 and set(trained) <= possible, (trained, possible)
