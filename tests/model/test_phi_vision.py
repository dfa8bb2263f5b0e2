"""Phi-4-multimodal (transformers' Phi4MultimodalForCausalLM) from a tiny random config through swift's loader:
its family, parts and processor; a row with an image and an audio encoded as Phi4MultimodalProcessor encodes it;
one training step reaching the vision tower; the engine's greedy answer equal to `model.generate`. Phi-3-vision
(remote code): the refusals without its code or without --trust_remote_code, and its image expansion."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from swift.model.loader import get_model_tokenizer
from swift.template import get_template
from swift.utils import SwiftError

from tests.helpers.tiny_phi4mm import build_phi4_multimodal


@pytest.fixture(scope='module')
def phi4(tmp_path_factory, smollm_dir):
    out = build_phi4_multimodal(smollm_dir, tmp_path_factory.mktemp('phi4mm') / 'model')
    model, tokenizer = get_model_tokenizer(str(out), torch_dtype='float32')
    return out, model, tokenizer


def _tone(hz, seconds=0.5, rate=16000):
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def _row():
    # noise, not a flat colour: a flat image gives every patch the same features
    return {'messages': [{'role': 'user', 'content': '<image>What is this?<audio>'},
                         {'role': 'assistant', 'content': 'noise'}],
            'images': [Image.effect_noise((40, 30), 60).convert('RGB')], 'audios': [_tone(440)]}


def test_loads_as_its_family_with_its_parts(phi4):
    _, model, tokenizer = phi4
    info = tokenizer.model_info
    assert (info.model_type, info.template, type(info.processor).__name__, type(model).__name__) == \
        ('phi4_multimodal', 'phi4_multimodal', 'Phi4Processor', 'Phi4MultimodalForCausalLM')
    from swift.model.registry import get_model_meta
    arch = get_model_meta('phi4_multimodal').model_arch
    names = {n for n, _ in model.named_parameters()}
    for prefix in arch.vision_tower + arch.aligner + arch.language_model + arch.lm_head:
        assert any(n == prefix or n.startswith(prefix + '.') for n in names), prefix
    covered = [n for n in names if any(n == p or n.startswith(p + '.') for p in
                                       arch.vision_tower + arch.aligner + arch.language_model + arch.lm_head)]
    assert sorted(covered) == sorted(names)  # every parameter is in one part: the freeze flags leave none out


def test_swift_list_models_names_it_for_images_and_audio(capsys):
    from swift.cli import list_cmd
    for modality in ('image', 'audio'):
        assert list_cmd.main(['models', '--json', '--modality', modality, '--filter', 'phi-4-multimodal']) == 0
        assert [r['model_type'] for r in json.loads(capsys.readouterr().out)] == ['phi4_multimodal']


def test_encoding_equals_phi4_multimodal_processor(phi4):
    """transformers' Phi4MultimodalProcessor.__call__ (its own token expansion, the audio feature extractor) on our
    rendered text gives our ids and tensors."""
    _, _, tokenizer = phi4
    processor = tokenizer.model_info.processor
    template = get_template('phi4_multimodal', tokenizer=tokenizer)
    row = _row()
    encoded = template.encode(row)
    text = ''.join(s.text for s in template.render_segments(
        [{'role': 'user', 'content': '<|image|>What is this?<|audio|>'}, row['messages'][1]]))
    theirs = processor(text=text, images=row['images'], audio=row['audios'], sampling_rate=16000,
                       return_tensors='pt')
    assert encoded['input_ids'] == theirs['input_ids'][0].tolist()
    for key in ('image_pixel_values', 'image_sizes', 'image_attention_mask', 'audio_input_features',
                'audio_embed_sizes'):
        assert torch.equal(encoded[key], theirs[key]), key
    image_token = processor.image_token_id
    # the global view (16 rows of 16 + a separator each), 1 separator, the crop's real rows: 40x30 fills 336 of
    # the 448-pixel crop, 12 pooled rows of 16 + a separator each
    assert encoded['input_ids'].count(image_token) == 16 * 17 + 1 + 12 * 17


def test_one_training_step_changes_the_vision_and_audio_towers(phi4):
    _, model, tokenizer = phi4
    template = get_template('phi4_multimodal', tokenizer=tokenizer)
    encoded = template.encode(_row())
    assert tokenizer.decode([i for i in encoded['labels'] if i != -100]).startswith('noise')
    ids = torch.tensor([encoded['input_ids']])
    batch = {'input_ids': ids, 'labels': torch.tensor([encoded['labels']]),
             'attention_mask': torch.tensor([encoded['attention_mask']]),
             **template.collate_media([encoded], input_ids=ids)}
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    towers = ('model.embed_tokens_extend.image_embed.img_processor.', 'model.embed_tokens_extend.audio_embed.encoder.')
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    after = model.state_dict()
    changed = tuple(any(not torch.equal(state[k], after[k]) for k in state if k.startswith(tower)) for tower in towers)
    model.load_state_dict(state)  # the module's other tests see the built weights
    model.eval()
    assert changed == (True, True)


def test_the_engine_answers_an_image_request_like_generate(phi4):
    """TransformersEngine, an image + audio request batched with a text request, gives model.generate's greedy
    tokens."""
    from swift.infer.protocol import InferRequest
    from tests.helpers.generate_reference import engine_beside_text
    _, model, tokenizer = phi4
    model.eval()
    request = InferRequest(messages=[{'role': 'user', 'content': '<image>What?<audio>'}],
                           images=[Image.effect_noise((60, 40), 60).convert('RGB')], audios=[_tone(880)])
    choice, (tokens, _) = engine_beside_text(model, tokenizer, request, 5, tokenizer.convert_tokens_to_ids('<|tool|>'))
    assert choice.message.content == tokenizer.decode(tokens, skip_special_tokens=True)


def test_the_processor_survives_save_and_reload(phi4, tmp_path):
    out, _, tokenizer = phi4
    template = get_template('phi4_multimodal', tokenizer=tokenizer)
    before = template.encode(_row())['input_ids']
    tokenizer.model_info.processor.save_pretrained(str(tmp_path))
    saved = json.loads((tmp_path / 'processor_config.json').read_text())
    assert (saved['processor_class'], saved['image_processor']['image_processor_type']) == \
        ('Phi4MultimodalProcessor', 'Phi4MultimodalImageProcessor')  # transformers' own classes
    (tmp_path / 'config.json').write_text((out / 'config.json').read_text())
    _, reloaded = get_model_tokenizer(str(tmp_path), load_model=False)
    assert get_template('phi4_multimodal', tokenizer=reloaded).encode(_row())['input_ids'] == before


def test_the_remote_code_layout_is_refused_with_the_revision_to_take(phi4, tmp_path):
    out, _, _ = phi4
    config = json.loads((out / 'config.json').read_text())
    (tmp_path / 'config.json').write_text(json.dumps({**config, 'model_type': 'phi4mm',
                                                      'auto_map': {'AutoModelForCausalLM': 'modeling_phi4mm.X'}}))
    with pytest.raises(SwiftError, match="model_type 'phi4mm', the remote-code layout") as error:
        get_model_tokenizer(str(tmp_path), load_model=False, model_type='phi4_multimodal')
    assert '--revision' in str(error.value)


# ---- Phi-3 / Phi-3.5-vision (remote code) ----

def _phi3v_dir(tmp_path, auto_map=True, code=True):
    config = {'model_type': 'phi3_v', 'architectures': ['Phi3VForCausalLM']}
    if auto_map:
        config['auto_map'] = {'AutoConfig': 'configuration_phi3_v.Phi3VConfig',
                              'AutoModelForCausalLM': 'modeling_phi3_v.Phi3VForCausalLM'}
    (tmp_path / 'config.json').write_text(json.dumps(config))
    if code:
        for name in ('configuration_phi3_v.py', 'modeling_phi3_v.py'):
            (tmp_path / name).write_text('# the repository code would be here\n')
    return tmp_path


@pytest.mark.parametrize('auto_map,code,trust,expected', [
    (False, False, True, 'no auto_map AutoModelForCausalLM entry'),
    (True, False, True, 'lacks configuration_phi3_v.py, modeling_phi3_v.py'),
    (True, True, False, '--trust_remote_code true'),
])
def test_phi3_vision_is_refused_with_what_to_do(tmp_path, auto_map, code, trust, expected):
    model_dir = _phi3v_dir(tmp_path, auto_map, code)
    with pytest.raises(SwiftError, match='Phi-3-vision') as error:
        get_model_tokenizer(str(model_dir), load_model=False, model_type='phi3_vision', trust_remote_code=trust)
    assert expected in str(error.value)
    if not code:
        assert 'microsoft/Phi-3.5-vision-instruct' in str(error.value)


class _Phi3VImageProcessorStandIn:
    """The remote Phi3VImageProcessor's outputs for the template (no remote code here): num_img_tokens per image,
    its count depending on the image as the real one's does (crops of 336 pixels: 144 per crop + separators)."""

    def __call__(self, images, return_tensors='pt'):
        counts = [(w // 336 + 1) * 2 for w, _ in (image.size for image in images)]
        return {'pixel_values': torch.zeros(len(images), 1, 3, 4, 4), 'image_sizes': torch.tensor([[4, 4]] * len(
            images)), 'num_img_tokens': torch.tensor(counts)}


def test_phi3_vision_writes_minus_n_ids_per_image(smollm_dir):
    """Image N's `<|image_N|>` tag becomes num_img_tokens[N-1] ids of value -N (what Phi3VProcessor writes and the
    remote model reads), the text around it tokenized and the image ids never trained."""
    from types import SimpleNamespace

    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir))
    tokenizer.add_special_tokens({'additional_special_tokens': ['<|image|>', '<|user|>', '<|assistant|>', '<|end|>']})
    processor = SimpleNamespace(image_processor=_Phi3VImageProcessorStandIn(), tokenizer=tokenizer)
    template = get_template('phi3_vision', tokenizer=tokenizer)
    template.processor = processor  # what the loader gives from the remote code
    row = {'messages': [{'role': 'user', 'content': '<image>Compare<image>'}, {'role': 'assistant', 'content': 'ok'}],
           'images': [Image.new('RGB', (30, 20)), Image.new('RGB', (700, 20))]}
    encoded = template.encode(row)
    ids = encoded['input_ids']
    assert (ids.count(-1), ids.count(-2)) == (2, 6)
    first, second = encoded['media_spans']
    assert ids[first[0]:first[1]] == [-1, -1] and ids[second[0]:second[1]] == [-2] * 6
    assert all(encoded['labels'][i] == -100 for i in range(first[0], second[1]))
    text = tokenizer.decode([i for i in ids if i >= 0])
    assert text == '<|user|>\n\nCompare\n<|end|>\n<|assistant|>\nok<|end|>\n'
    assert 'num_img_tokens' not in encoded and encoded['pixel_values'].shape[0] == 2


def test_swift_sft_trains_a_lora_step_on_rows_of_different_sizes(phi4, tmp_path):
    """`swift sft` (sft_main) on two rows naming image and WAV files of different sizes in one batch: crops padded
    to the batch's most, audio frames to the longest with their mask; one LoRA step on qkv_proj / gate_up_proj."""
    from pathlib import Path

    import soundfile

    from swift.training.sft import sft_main
    out, _, _ = phi4
    Image.effect_noise((40, 30), 60).convert('RGB').save(tmp_path / 'small.png')
    Image.effect_noise((500, 60), 60).convert('RGB').save(tmp_path / 'wide.png')  # 2 crops
    soundfile.write(str(tmp_path / 'short.wav'), _tone(440, 0.3), 16000)
    soundfile.write(str(tmp_path / 'long.wav'), _tone(880, 0.6), 16000)
    rows = [{'messages': [{'role': 'user', 'content': '<image><audio>What is it?'},
                          {'role': 'assistant', 'content': answer}], 'images': [image], 'audios': [audio]}
            for image, audio, answer in (('small.png', 'long.wav', 'small'), ('wide.png', 'short.wav', 'wide'))]
    (tmp_path / 'train.jsonl').write_text(''.join(json.dumps(row) + '\n' for row in rows))
    result = sft_main(model=str(out), dataset=[str(tmp_path / 'train.jsonl')], max_steps=1,
                      per_device_train_batch_size=2, output_dir=str(tmp_path / 'run'), save_steps=10000,
                      logging_steps=1, report_to=[], torch_dtype='float32')
    losses = [entry['loss'] for entry in result.log_history if 'loss' in entry]
    assert len(losses) == 1 and np.isfinite(losses[0])
    assert (Path(result.last_checkpoint) / 'adapter_model.safetensors').is_file()


def test_remote_code_needing_a_missing_package_names_the_family_and_package(tmp_path):
    """Phi-3-vision's image processor imports torchvision, which swift does not install: transformers refuses the
    module before running it, and swift says which family's code needs what (not a loader traceback)."""
    from swift.model.remote_code import PHI3_VISION
    model_dir = _phi3v_dir(tmp_path)
    (model_dir / 'modeling_phi3_v.py').write_text('import swift_test_package_nobody_has\n')
    (model_dir / 'configuration_phi3_v.py').write_text(
        'from transformers import PretrainedConfig\n\nclass Phi3VConfig(PretrainedConfig):\n    model_type = "phi3_v"\n')
    from transformers import AutoModelForCausalLM
    with pytest.raises(SwiftError, match=r"Phi-3-vision repository's own code needs .*swift_test_package_nobody_has"):
        PHI3_VISION.load_model(AutoModelForCausalLM, model_dir, trust_remote_code=True)
