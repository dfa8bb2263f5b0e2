"""Tiny random LLaVA-1.5 (the published config, shrunk) and LLaVA-NeXT load through swift's loader as their registry
types, render their templates, encode rows with images through the MediaPlugin (the processor's count of image
tokens) and train a step on them."""
import pytest
from PIL import Image

from swift.model.loader import get_model_tokenizer
from swift.template import get_template

from tests.helpers.tiny_vlm_families import build_llava, build_llava_next


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


@pytest.fixture(scope='module')
def llava_next(tmp_path_factory, smollm_dir):
    out = build_llava_next(smollm_dir, tmp_path_factory.mktemp('tiny-llava-next') / 'model')
    return get_model_tokenizer(str(out), torch_dtype='float32')


def test_llava_next_anyres_rows_of_different_shapes_train_in_one_batch(llava_next):
    import torch
    model, tokenizer = llava_next
    assert (tokenizer.model_info.model_type, tokenizer.model_info.template) == ('llava_next_hf', 'llava_next_mistral')
    template = get_template('llava_next_mistral', tokenizer=tokenizer)

    def encode(size):
        return template.encode({'messages': [{'role': 'user', 'content': '<image>What colour?'},
                                             {'role': 'assistant', 'content': 'red'}],
                                'images': [Image.new('RGB', size, 'red')]})

    wide, square = encode((60, 20)), encode((30, 30))
    # the processor's count: base 2x2 features + tiles of the chosen grid, a newline feature per row of features
    counts = [end - start for start, end in (wide['media_spans'][0], square['media_spans'][0])]
    assert counts[0] != counts[1]
    # base image + tiles: a 3:1 image fits the 28x56 pinpoint (2 tiles), a square one 56x56 (4 tiles)
    assert [wide['pixel_values'].shape[1], square['pixel_values'].shape[1]] == [3, 5]
    media = template.collate_media([wide, square])
    assert tuple(media['pixel_values'].shape) == (2, 5, 3, 28, 28)  # padded to the most tiles
    length = max(len(wide['input_ids']), len(square['input_ids']))

    def pad(ids, value):
        return ids + [value] * (length - len(ids))

    batch = {'input_ids': torch.tensor([pad(e['input_ids'], tokenizer.pad_token_id) for e in (wide, square)]),
             'labels': torch.tensor([pad(e['labels'], -100) for e in (wide, square)]),
             'attention_mask': torch.tensor([pad(e['attention_mask'], 0) for e in (wide, square)]), **media}
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()
    assert model.model.multi_modal_projector.linear_1.weight.grad.abs().sum() > 0
