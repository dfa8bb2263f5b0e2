"""Qwen2.5-Omni: a tiny random thinker (Qwen2_5OmniThinkerConfig, no download) loads through swift's loader as the
qwen2_5_omni family with the torchvision-free processor (swift/model/qwen_omni_processor.py), renders its template,
encodes a row with an image and an audio clip (the processor's counts of <|IMAGE|> and <|AUDIO|> tokens), and trains
a step in which both encoders reach the loss. A full checkpoint (thinker + talker) loads its thinker."""
import numpy as np
import pytest
import torch
from PIL import Image

from swift.template import get_template

OMNI_TOKENS = ['<|IMAGE|>', '<|AUDIO|>', '<|VIDEO|>', '<|vision_bos|>', '<|vision_eos|>', '<|audio_bos|>',
               '<|audio_eos|>']


def _thinker_config(tokenizer):
    from transformers import Qwen2_5OmniThinkerConfig
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ('image_token_index', '<|IMAGE|>'), ('audio_token_index', '<|AUDIO|>'), ('video_token_index', '<|VIDEO|>'),
        ('vision_start_token_id', '<|vision_bos|>'), ('vision_end_token_id', '<|vision_eos|>'),
        ('audio_start_token_id', '<|audio_bos|>'), ('audio_end_token_id', '<|audio_eos|>'))}
    text = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, pad_token_id=tokenizer.pad_token_id,
                rope_parameters={'rope_type': 'default', 'rope_theta': 1e4, 'mrope_section': [2, 3, 3]})
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, window_size=56,
                  fullatt_block_indexes=[1])
    audio = dict(num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=64, d_model=32,
                 output_dim=64, n_window=50, max_source_positions=100)
    return Qwen2_5OmniThinkerConfig(text_config=text, vision_config=vision, audio_config=audio, **ids)


@pytest.fixture(scope='module')
def omni_dir(tmp_path_factory, smollm_dir):
    from transformers import AutoTokenizer, Qwen2_5OmniThinkerForConditionalGeneration, WhisperFeatureExtractor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from swift.model.qwen_omni_processor import QwenOmniProcessor
    out = tmp_path_factory.mktemp('tiny-omni') / 'thinker'
    tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir))
    tokenizer.add_special_tokens({'additional_special_tokens': OMNI_TOKENS})
    torch.manual_seed(0)
    model = Qwen2_5OmniThinkerForConditionalGeneration(_thinker_config(tokenizer))
    model.save_pretrained(str(out))
    processor = QwenOmniProcessor(Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56),
                                  WhisperFeatureExtractor(feature_size=128, chunk_length=1), tokenizer)
    processor.save_pretrained(out)
    return out


@pytest.fixture(scope='module')
def omni(omni_dir):
    from swift.model.loader import get_model_tokenizer
    return get_model_tokenizer(str(omni_dir), torch_dtype='float32')


def test_loads_the_thinker_as_the_omni_family(omni):
    from swift.model.qwen_omni_processor import QwenOmniProcessor
    model, tokenizer = omni
    info = tokenizer.model_info
    assert (info.model_type, info.template, type(model).__name__) == (
        'qwen2_5_omni', 'qwen2_5_omni', 'Qwen2_5OmniThinkerForConditionalGeneration')
    assert isinstance(info.processor, QwenOmniProcessor)
    assert info.processor.image_processor.size.longest_edge == 56 * 56  # both parts read the shared file
    assert info.processor.feature_extractor.n_samples == 16000
    names = {name.split('.')[1] for name, _ in model.named_parameters() if name.startswith('model.')}
    assert names == {'visual', 'audio_tower', 'language_model'}
    from swift.model.registry import get_model_meta
    arch = get_model_meta('qwen2_5_omni').model_arch  # each prefix names parameters (--freeze_vit and co. act on them)
    for prefix in arch.language_model + arch.vision_tower + arch.aligner + arch.lm_head:
        assert any(name.startswith(prefix + '.') for name, _ in model.named_parameters()), prefix


def test_renders_encodes_an_image_and_audio_row_and_trains_a_step(omni):
    model, tokenizer = omni
    template = get_template('qwen2_5_omni', tokenizer=tokenizer)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)).astype(np.float32)  # half a second
    row = {'messages': [{'role': 'user', 'content': '<image><audio>What do you see and hear?'},
                        {'role': 'assistant', 'content': 'A red square, a tone.'}],
           'images': [Image.new('RGB', (60, 60), 'red')], 'audios': [tone]}
    assert template.render(row['messages']).startswith(
        '<|im_start|>system\nYou are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of '
        'perceiving auditory and visual inputs, as well as generating text and speech.<|im_end|>\n<|im_start|>user\n'
        '<|vision_bos|><|IMAGE|><|vision_eos|><|audio_bos|><|AUDIO|><|audio_eos|>What do you see and hear?')
    encoded = template.encode(row)
    tokens = tokenizer.convert_ids_to_tokens(encoded['input_ids'])
    assert tokens.count('<|IMAGE|>') == 4  # 56 x 56 pixels: a 4 x 4 patch grid, merged 2 x 2
    assert tokens.count('<|AUDIO|>') == 12  # 50 mel frames (hop 160) -> 25 (stride-2 conv) -> 12 (pooling)
    batch = {'input_ids': torch.tensor([encoded['input_ids']]), 'labels': torch.tensor([encoded['labels']]),
             'attention_mask': torch.tensor([encoded['attention_mask']]), **template.collate_media([encoded])}
    model.train()
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()
    for part in ('visual.merger', 'audio_tower.proj'):  # both media reach the loss
        grads = [p.grad for n, p in model.named_parameters() if part in n]
        assert grads and all(g is not None and g.abs().sum() > 0 for g in grads), part


def test_a_full_checkpoint_loads_its_thinker(omni_dir, tmp_path):
    """A released Qwen2.5-Omni directory is the full model (config qwen2_5_omni, weights under `thinker.`): swift
    loads its thinker, every weight from the file."""
    import shutil

    from transformers import AutoConfig, Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    from swift.model.loader import get_model_tokenizer
    thinker = AutoConfig.from_pretrained(str(omni_dir))
    config = Qwen2_5OmniConfig(thinker_config=thinker.to_dict(), enable_audio_output=False)
    torch.manual_seed(1)
    full = Qwen2_5OmniForConditionalGeneration(config)
    full.save_pretrained(str(tmp_path))
    for name in ('preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(omni_dir / name, tmp_path / name)
    model, tokenizer = get_model_tokenizer(str(tmp_path), torch_dtype='float32')
    assert tokenizer.model_info.model_type == 'qwen2_5_omni'
    assert type(model).__name__ == 'Qwen2_5OmniThinkerForConditionalGeneration'
    expected = full.thinker.state_dict()
    assert all(torch.equal(tensor, expected[name]) for name, tensor in model.state_dict().items())


def test_an_adapter_directory_loads_over_its_base(omni, omni_dir, tmp_path):
    """A LoRA checkpoint (adapter_config.json, no config.json): the thinker's config comes from the base named in
    it, and transformers loads base + adapter."""
    import peft
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    from swift.model.models.qwen_vl import load_omni_thinker
    model, _ = omni
    tuned = peft.get_peft_model(Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(str(omni_dir)),
                                peft.LoraConfig(target_modules=['q_proj'], r=2, init_lora_weights=False))
    tuned.save_pretrained(str(tmp_path))
    loaded = load_omni_thinker(Qwen2_5OmniThinkerForConditionalGeneration, str(tmp_path))
    saved = {n.replace('base_model.model.', ''): p for n, p in tuned.named_parameters() if 'lora_B' in n}
    got = {n: p for n, p in loaded.named_parameters() if 'lora_B' in n}
    assert got.keys() == saved.keys() and all(torch.equal(got[n], saved[n]) for n in saved)


def _tone(pitch: float) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * pitch * np.arange(8000) / 16000)).astype(np.float32)  # half a second


def test_swift_sft_trains_a_step_on_image_and_audio_rows(omni_dir, tmp_path):
    """`swift sft` (sft_main) on dataset rows naming an image file and a WAV file: the data layer loads both, the
    template encodes them and one LoRA step runs (with the aligner trained, ms-swift's default for VLMs)."""
    import json

    from pathlib import Path

    import soundfile

    from swift.training.sft import sft_main
    Image.new('RGB', (60, 60), 'red').save(tmp_path / 'red.png')
    soundfile.write(str(tmp_path / 'tone.wav'), _tone(440), 16000)
    row = {'messages': [{'role': 'user', 'content': '<image><audio>What do you see and hear?'},
                        {'role': 'assistant', 'content': 'A red square, a tone.'}],
           'images': ['red.png'], 'audios': ['tone.wav']}
    (tmp_path / 'train.jsonl').write_text(json.dumps(row) + '\n' + json.dumps(row) + '\n')
    result = sft_main(model=str(omni_dir), dataset=[str(tmp_path / 'train.jsonl')], max_steps=1,
                      per_device_train_batch_size=2, output_dir=str(tmp_path / 'run'), save_steps=10000,
                      logging_steps=1, report_to=[], torch_dtype='float32')
    losses = [entry['loss'] for entry in result.log_history if 'loss' in entry]
    assert len(losses) == 1 and np.isfinite(losses[0])
    assert (Path(result.last_checkpoint) / 'adapter_model.safetensors').is_file()


def test_the_engine_answers_an_image_and_audio_request_like_generate(omni):
    """TransformersEngine on the thinker (3-D rotary positions over the image and the audio: a rope delta per row),
    batched with a text-only request, gives `model.generate`'s greedy tokens."""
    from swift.infer.protocol import InferRequest
    from tests.helpers.generate_reference import engine_beside_text
    model, tokenizer = omni
    model.eval()
    request = InferRequest(messages=[{'role': 'user', 'content': '<image><audio>What?'}],
                           images=[Image.effect_noise((60, 60), 60).convert('RGB')], audios=[_tone(880)])
    choice, (tokens, _) = engine_beside_text(model, tokenizer, request, 5, tokenizer.convert_tokens_to_ids('<|VIDEO|>'))
    assert choice.message.content == tokenizer.decode(tokens, skip_special_tokens=True)
