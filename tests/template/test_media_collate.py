"""Batches and packed rows of images of different sizes, for the families whose plugins pad them (LLaVA-NeXT and
LLaVA-OneVision: anyres tile counts; Pixtral / Mistral-Small-3.1: heights and widths; Idefics2: sizes within a row)
or join them in order (InternVL; OneVision and InternVL videos too): each sample's logits in a padded batch, and in
a padding-free packed row, equal its logits alone (tiny random models, tests/helpers/tiny_vlm_families.py). Before,
a batch of a Pixtral or OneVision model with two images of different sizes stopped training with a tensor-size
error."""
import pytest
import torch

from swift.model.loader import get_model_tokenizer
from swift.template import get_template
from swift.training.collator import MediaCollator, PackedCollator, PackedMediaCollator, PaddingCollator

from tests.helpers import tiny_vlm_families as families
from tests.helpers.shapes import noise_image

# builder -> (registry type, template)
FAMILIES = {'llava_next': ('llava_next_hf', 'llava_next_mistral'), 'llava_onevision': ('llava_onevision_hf',
            'llava_onevision'), 'internvl': ('internvl_hf', 'internvl_hf'), 'pixtral': ('pixtral', 'pixtral'),
            'mistral3': ('mistral3', 'pixtral'), 'idefics2': ('idefics2', 'idefics2')}
# per sample, its images' sizes: different aspect ratios (anyres grids), heights and widths; a text-only sample
SIZES = [[(40, 30)], [(30, 60), (50, 50)], [], [(64, 32)]]


@pytest.fixture(scope='module', params=list(FAMILIES))
def family(request, tmp_path_factory, smollm_dir):
    name = request.param
    model_type, template_name = FAMILIES[name]
    out = getattr(families, f'build_{name}')(smollm_dir, tmp_path_factory.mktemp(name) / 'model')
    model, tokenizer = get_model_tokenizer(str(out), torch_dtype='float32',
                                           model_type=model_type if name == 'pixtral' else None)
    model.eval()
    template = get_template(template_name, tokenizer=tokenizer)
    rows = [{'messages': [{'role': 'user', 'content': '<image>' * len(sizes) + f'Which one is {k}?'},
                          {'role': 'assistant', 'content': f'The answer is {k * 7}'}],
             'images': [noise_image(10 * k + i, size) for i, size in enumerate(sizes)]}
            for k, sizes in enumerate(SIZES)]
    samples = [template.encode(row) for row in rows]
    with torch.no_grad():
        alone = [model(**_inputs(MediaCollator(PaddingCollator(tokenizer.pad_token_id), template)([s]))).logits[0]
                 for s in samples]
    return name, model, template, samples, alone


def _inputs(batch):
    return {k: v for k, v in batch.items() if k != 'labels'}


@torch.no_grad()
def test_a_batch_of_images_of_different_sizes_gives_each_sample_its_logits_alone(family):
    name, model, template, samples, alone = family
    batch = MediaCollator(PaddingCollator(template.tokenizer.pad_token_id), template)(samples)
    logits = model(**_inputs(batch)).logits
    for i, want in enumerate(alone):
        got = logits[i][batch['attention_mask'][i].bool()]
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0, msg=f'{name} sample {i}')


@torch.no_grad()
def test_a_padding_free_row_gives_each_sample_its_logits_alone(family):
    name, model, template, samples, alone = family
    template.check_packing()  # not refused
    batch = PackedMediaCollator(PackedCollator(template.tokenizer.pad_token_id, padding_free=True), template)(samples)
    assert batch['input_ids'].shape[0] == 1
    packed = model(**_inputs(batch)).logits[0]
    start = 0
    for i, (sample, want) in enumerate(zip(samples, alone)):
        end = start + len(sample['input_ids'])
        torch.testing.assert_close(packed[start:end], want, atol=1e-5, rtol=0, msg=f'{name} sample {i}')
        start = end


@pytest.mark.parametrize('name', ['llava_onevision', 'internvl'])
@torch.no_grad()
def test_a_padding_free_row_of_videos_and_an_image_gives_each_sample_its_logits_alone(name, tmp_path, smollm_dir):
    from tests.helpers.av_media import colour_video
    template_name = FAMILIES[name][1]
    out = getattr(families, f'build_{name}')(smollm_dir, tmp_path / 'model')
    model, tokenizer = get_model_tokenizer(str(out), torch_dtype='float32')
    template = get_template(template_name, tokenizer=tokenizer)
    video = str(colour_video(tmp_path / 'v.mp4', [(255, 0, 0), (0, 0, 255)], frames_each=2, size=64))
    rows = [{'messages': [{'role': 'user', 'content': '<video>Which colour comes first?'},
                          {'role': 'assistant', 'content': answer}], 'videos': [video]}
            for answer in ('red', 'red it is')]
    rows.insert(1, {'messages': [{'role': 'user', 'content': '<image>What is it?'},
                                 {'role': 'assistant', 'content': 'noise'}], 'images': [noise_image(3, (40, 30))]})
    samples = [template.encode(row) for row in rows]
    pad = tokenizer.pad_token_id
    batch = PackedMediaCollator(PackedCollator(pad, padding_free=True), template)(samples)
    packed = model.eval()(**_inputs(batch)).logits[0]
    start = 0
    for i, sample in enumerate(samples):
        end = start + len(sample['input_ids'])
        want = model(**_inputs(MediaCollator(PaddingCollator(pad), template)([sample]))).logits[0]
        torch.testing.assert_close(packed[start:end], want, atol=1e-5, rtol=0, msg=f'{name} sample {i}')
        start = end
