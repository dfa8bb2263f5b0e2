"""A tiny random LLaVA-1.5 (the published config, shrunk) loads through swift's loader as `llava1_5_hf`, renders its
template, encodes a row with an image through the MediaPlugin (the processor's count of image tokens) and trains a
step on it."""
import pytest
from PIL import Image

from swift.model.loader import get_model_tokenizer
from swift.template import get_template

from tests.helpers.tiny_vlm_families import build_llava


@pytest.fixture(scope='module')
def llava(tmp_path_factory, shared_data, smollm_dir):
    out = build_llava(shared_data / 'vlm_configs' / 'llava-hf__llava-1.5-7b-hf', smollm_dir,
                      tmp_path_factory.mktemp('tiny-llava') / 'model')
    model, tokenizer = get_model_tokenizer(str(out), torch_dtype='float32')
    return model, tokenizer


def test_loads_as_the_llava_family_with_its_parts_named(llava):
    model, tokenizer = llava
    info = tokenizer.model_info
    assert (info.model_type, info.template, type(model).__name__) == (
        'llava1_5_hf', 'llava1_5', 'LlavaForConditionalGeneration')
    names = {name.split('.')[1] for name, _ in model.named_parameters() if name.startswith('model.')}
    assert names == {'vision_tower', 'multi_modal_projector', 'language_model'}  # ModelArch prefixes exist


def test_encodes_an_image_row_and_trains_a_step(llava):
    import torch
    model, tokenizer = llava
    template = get_template('llava1_5', tokenizer=tokenizer)
    row = {'messages': [{'role': 'user', 'content': 'What colour is it?<image>'},
                        {'role': 'assistant', 'content': 'red'}],
           'images': [Image.new('RGB', (40, 30), 'red')]}
    encoded = template.encode(row)
    tokens = tokenizer.convert_ids_to_tokens(encoded['input_ids'])
    (start, end), = encoded['media_spans']
    # 28-pixel crops, 14-pixel patches: 2x2 patch features (the CLS feature dropped: strategy "default")
    assert tokens[start:end] == ['<image>'] * 4 and tokens.count('<image>') == 4
    assert tokenizer.decode(encoded['input_ids']).startswith('USER: <image><image><image><image>\nWhat colour')
    assert set(encoded['labels'][start:end]) == {-100}
    assert tuple(encoded['pixel_values'].shape) == (1, 3, 28, 28)
    batch = {'input_ids': torch.tensor([encoded['input_ids']]), 'labels': torch.tensor([encoded['labels']]),
             'attention_mask': torch.tensor([encoded['attention_mask']]), **template.collate_media([encoded])}
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.model.multi_modal_projector.linear_1.weight.detach().clone()
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    assert not torch.equal(before, model.model.multi_modal_projector.linear_1.weight)  # the image reached the loss
