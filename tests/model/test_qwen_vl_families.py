"""Qwen2.5-VL and Qwen3-VL on tiny random models built in memory (no weights on this machine): our torchvision-free
processor's encoding trains one left-padded batch (window attention, DeepStack, interleaved M-RoPE), and the
engine's decoding with the rope delta equals `model.generate` for an image whose 3-D positions are shorter than its
tokens (a 4 x 4 grid: 4 tokens over 2 positions)."""
import copy

import pytest
import torch
from PIL import Image

from swift.infer.protocol import InferRequest, RequestConfig
from swift.infer.transformers_engine import TransformersEngine
from swift.template import get_template
from swift.training.collator import MediaCollator, PaddingCollator

TEXT = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
ROPE = {'rope_type': 'default', 'rope_theta': 1e4, 'mrope_section': [2, 3, 3]}


@pytest.fixture(scope='module')
def tokenizer():
    from swift.model.loader import get_model_tokenizer
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    ensure_qwen2_vl_tiny()
    return get_model_tokenizer('qwen2-vl-tiny', load_model=False)[1]


def _model(family, tokenizer):
    import transformers
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ('image_token_id', '<|image_pad|>'), ('video_token_id', '<|video_pad|>'),
        ('vision_start_token_id', '<|vision_start|>'), ('vision_end_token_id', '<|vision_end|>'))}
    text = dict(TEXT, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    vision = dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=4, out_hidden_size=64)
    if family == 'qwen2_5_vl':
        config = transformers.Qwen2_5_VLConfig(text_config=dict(text, rope_parameters=ROPE), **ids,
                                               vision_config=dict(vision, window_size=56, fullatt_block_indexes=[1]))
        cls, patch = transformers.Qwen2_5_VLForConditionalGeneration, 14
    else:
        config = transformers.Qwen3VLConfig(
            text_config=dict(text, head_dim=16, rope_parameters=dict(ROPE, mrope_interleaved=True)), **ids,
            vision_config=dict(vision, num_position_embeddings=64, deepstack_visual_indexes=[0]))
        cls, patch = transformers.Qwen3VLForConditionalGeneration, 16
    torch.manual_seed(0)
    return cls(config), patch


@pytest.mark.parametrize('family', ['qwen2_5_vl', 'qwen3_vl'])
def test_family_trains_a_batch_and_decodes_like_generate(tokenizer, family):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from swift.model.qwen_vl_processor import QwenVLImageProcessor
    model, patch = _model(family, tokenizer)
    template = get_template(family, tokenizer=tokenizer)
    template.processor = QwenVLImageProcessor(
        Qwen2VLImageProcessorPil(patch_size=patch, min_pixels=(2 * patch)**2, max_pixels=(4 * patch)**2), tokenizer)
    rows = [{'messages': [{'role': 'user', 'content': '<image>What?'}, {'role': 'assistant', 'content': 'red'}],
             'images': [Image.new('RGB', size, (200, 0, 0))]} for size in ((100, 100), (200, 60))]
    batch = MediaCollator(PaddingCollator(tokenizer.pad_token_id, padding_side='left'), template)(
        [template.encode(r) for r in rows])
    model.train()
    model(**batch).loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if 'visual' in n)

    model.eval()
    request = InferRequest(messages=[{'role': 'user', 'content': 'What?'}], images=[Image.new('RGB', (100, 100))])
    with TransformersEngine(model, tokenizer, template=template) as engine:
        output = engine.infer([InferRequest(messages=[{'role': 'user', 'content': 'hi'}]), request],
                              RequestConfig(max_tokens=5, temperature=0, ignore_eos=True, logprobs=True))[1]
    encoded = template.encode({'messages': request.messages, 'images': request.images}, for_inference=True)
    assert encoded['image_grid_thw'].tolist() == [[1, 4, 4]]  # 4 tokens, 2 positions: a rope delta of -2
    ids = torch.tensor([encoded['input_ids']])
    config = copy.deepcopy(model.generation_config)
    config.eos_token_id = tokenizer.convert_tokens_to_ids('<|video_pad|>')  # never written: every step decodes
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=encoded['pixel_values'],
                         image_grid_thw=encoded['image_grid_thw'], **template.token_inputs(ids),
                         generation_config=config, max_new_tokens=5, do_sample=False, output_scores=True,
                         return_dict_in_generate=True)
    tokens = out.sequences[0, ids.shape[1]:].tolist()
    expected = [torch.log_softmax(s[0].float(), -1)[t].item() for s, t in zip(out.scores, tokens)]
    assert len(tokens) == 5
    assert [e.logprob for e in output.choices[0].logprobs.content] == pytest.approx(expected, abs=1e-4)
