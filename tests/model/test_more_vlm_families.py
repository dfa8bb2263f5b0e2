"""Every registered multimodal family whose transformers classes run here loads from a tiny random config through
swift's loader (its registry type, template and processor), encodes a row with an image through its template and
trains a step on it: Gemma 3, InternVL 3 (-hf), LLaVA-OneVision, GLM-4.1V, Pixtral, Mistral-Small-3.1, Llama 3.2
Vision and Idefics2
(LLaVA-1.5/NeXT: test_tiny_vlm_families.py; Qwen-VL: test_qwen_vl_families.py; SmolVLM and Qwen2-Audio: their
builders' tests).

The number of image tokens each template writes is checked by the model itself: transformers' forward refuses a
row whose image tokens do not match the vision features (`Image features and image tokens do not match`). Where the
transformers processor cannot be built without torchvision (InternVL, LLaVA-OneVision, GLM-4V, Pixtral), the loader
gives swift/model/image_only_processor.py's, which also survives save and reload.
"""
import pytest
from PIL import Image

from swift.model.loader import get_model_tokenizer
from swift.template import get_template

from tests.helpers import tiny_vlm_families as families

# builder, registry type, template, processor class, the module that maps vision features into the LM
FAMILIES = {
    'gemma3': ('gemma3_vl', 'gemma3_vl', 'Gemma3Processor', 'multi_modal_projector'),
    'internvl': ('internvl_hf', 'internvl_hf', 'InternVLImageProcessor', 'multi_modal_projector'),
    'llava_onevision': ('llava_onevision_hf', 'llava_onevision', 'LlavaOnevisionImageProcessor',
                        'multi_modal_projector'),
    'glm4v': ('glm4v', 'glm4v', 'Glm4vImageProcessor', 'visual.merger'),
    'pixtral': ('pixtral', 'pixtral', 'PixtralImageProcessor', 'multi_modal_projector'),
    'mistral3': ('mistral3', 'pixtral', 'PixtralImageProcessor', 'multi_modal_projector'),
    'mllama': ('llama3_2_vision', 'llama3_2_vision', 'MllamaProcessor', 'multi_modal_projector'),
    'idefics2': ('idefics2', 'idefics2', 'Idefics2Processor', 'connector'),
}


@pytest.fixture(scope='module')
def built(tmp_path_factory, smollm_dir):
    """Each family's tiny model directory, built once for the module (the processor-equality test reuses it)."""
    directories = {}

    def build(name):
        if name not in directories:
            directories[name] = getattr(families, f'build_{name}')(smollm_dir, tmp_path_factory.mktemp(name) / 'model')
        return directories[name]
    return build


@pytest.fixture(scope='module', params=list(FAMILIES))
def family(request, built):
    name = request.param
    out = built(name)
    model_type = FAMILIES[name][0]
    # Pixtral's architecture (LlavaForConditionalGeneration) is LLaVA-1.5's too: a user names the type, as here
    model, tokenizer = get_model_tokenizer(str(out), torch_dtype='float32',
                                           model_type=model_type if name == 'pixtral' else None)
    return name, out, model, tokenizer


def _row():
    # noise, not a flat colour: a flat image gives every patch the same features
    return {'messages': [{'role': 'user', 'content': 'What is in the picture?<image>'},
                         {'role': 'assistant', 'content': 'noise'}],
            'images': [Image.effect_noise((40, 30), 60).convert('RGB')]}


def test_loads_as_its_family(family):
    name, _, model, tokenizer = family
    model_type, template, processor, _ = FAMILIES[name]
    info = tokenizer.model_info
    assert (info.model_type, info.template, type(info.processor).__name__) == (model_type, template, processor)


def test_encodes_an_image_row_and_trains_a_step(family):
    import torch
    name, _, model, tokenizer = family
    template = get_template(FAMILIES[name][1], tokenizer=tokenizer)
    encoded = template.encode(_row())
    (start, end), = encoded['media_spans']
    assert end > start and set(encoded['labels'][start:end]) == {-100}
    # (Idefics2's answer token carries the space after `Assistant:`)
    assert tokenizer.decode([i for i in encoded['labels'] if i != -100]).lstrip().startswith('noise')
    ids = torch.tensor([encoded['input_ids']])
    batch = {'input_ids': ids, 'labels': torch.tensor([encoded['labels']]),
             'attention_mask': torch.tensor([encoded['attention_mask']]),
             **template.collate_media([encoded], input_ids=ids)}
    model.train()
    loss = model(**batch).loss  # the forward checks the image tokens against the vision features
    assert torch.isfinite(loss)
    loss.backward()
    aligner = model.model.get_submodule(FAMILIES[name][3])
    assert sum(p.grad.abs().sum() for p in aligner.parameters() if p.grad is not None) > 0  # the image reached it
    model.zero_grad()


def test_the_processor_survives_save_and_reload(family, tmp_path):
    name, _, _, tokenizer = family
    template = get_template(FAMILIES[name][1], tokenizer=tokenizer)
    before = template.encode(_row())['input_ids']
    tokenizer.model_info.processor.save_pretrained(str(tmp_path))
    (tmp_path / 'config.json').write_text((family[1] / 'config.json').read_text())
    _, reloaded = get_model_tokenizer(str(tmp_path), load_model=False,
                                      model_type=FAMILIES[name][0] if name == 'pixtral' else None)
    assert type(reloaded.model_info.processor) is type(tokenizer.model_info.processor)
    assert get_template(FAMILIES[name][1], tokenizer=reloaded).encode(_row())['input_ids'] == before


@pytest.mark.parametrize('name', ['gemma3', 'mllama'])
def test_encoding_equals_the_transformers_processor(name, built):
    """Where the family's transformers processor runs here, its own __call__ on our rendered text gives the same
    ids and token-level inputs (Gemma 3's token_type_ids, Mllama's cross-attention mask) as our template. For Mllama
    the second row has two images: the batch pads the first row with a zero image (pixel values, aspect ratio ids and
    masks) as the processor does (a batch of rows with different image counts used to stop with a size error)."""
    import torch
    from transformers import AutoProcessor
    out = built(name)
    _, tokenizer = get_model_tokenizer(str(out), load_model=False)
    template = get_template(FAMILIES[name][1], tokenizer=tokenizer)
    second = [Image.effect_noise((20, 60), 60).convert('RGB')]
    if name == 'mllama':
        second.append(Image.effect_noise((50, 20), 60).convert('RGB'))
    rows = [_row(), {'messages': [{'role': 'user', 'content': '<image>' * len(second) + 'What is in the pictures?'},
                                  {'role': 'assistant', 'content': 'noise'}], 'images': second}]
    encoded = [template.encode(row) for row in rows]
    length = max(len(e['input_ids']) for e in encoded)
    ids = torch.tensor([[tokenizer.pad_token_id] * (length - len(e['input_ids'])) + e['input_ids'] for e in encoded])
    ours = template.collate_media(encoded, input_ids=ids)  # left padding, as the processor below pads
    processor = AutoProcessor.from_pretrained(str(out))
    processor.tokenizer.padding_side = 'left'
    texts = [template.render(row['messages']) for row in rows]
    reference = processor(text=texts, images=[row['images'] for row in rows], add_special_tokens=False,
                          padding=True, return_tensors='pt')
    assert torch.equal(reference['input_ids'], ids)
    token_key = {'gemma3': 'token_type_ids', 'mllama': 'cross_attention_mask'}[name]
    assert torch.equal(reference[token_key], ours[token_key])
    assert torch.allclose(reference['pixel_values'], ours['pixel_values'])
    if name == 'mllama':
        assert tuple(ours['pixel_values'].shape[:2]) == (2, 2)
        for key in ('aspect_ratio_ids', 'aspect_ratio_mask'):
            assert torch.equal(reference[key], ours[key]), key
        model, _ = get_model_tokenizer(str(out), torch_dtype='float32')
        with torch.no_grad():  # the padded batch runs
            assert torch.isfinite(model(input_ids=ids, attention_mask=(ids != tokenizer.pad_token_id).long(),
                                        **ours).logits).all()


def test_the_engine_answers_mllama_image_requests_like_generate(built):
    """Llama 3.2 Vision reads images through cross-attention layers whose keys/values the prefill caches: the engine
    keeps them per sequence (swift/infer/cross_attention.py) and decodes a batch of a text-only request and requests
    with one and two images with the same greedy tokens as `model.generate` on each alone."""
    from swift.infer.protocol import InferRequest, RequestConfig
    from swift.infer.transformers_engine import TransformersEngine
    from tests.helpers.generate_reference import greedy_reference
    first, second = (Image.effect_noise(size, 60).convert('RGB') for size in ((40, 30), (20, 60)))
    requests = [InferRequest(messages=[{'role': 'user', 'content': 'hi'}]),
                InferRequest(messages=[{'role': 'user', 'content': 'What?'}], images=[first]),
                InferRequest(messages=[{'role': 'user', 'content': 'And these?'}], images=[first, second])]
    with TransformersEngine(str(built('mllama')), torch_dtype='float32') as engine:
        answers = [o.choices[0].message.content
                   for o in engine.infer(requests, RequestConfig(max_tokens=5, temperature=0, ignore_eos=True))]
        assert engine.stats()['peak_running_sequences'] == 3  # decoded together
        tokenizer, never = engine.tokenizer, engine.tokenizer.convert_tokens_to_ids('<|image|>')
        expected = [tokenizer.decode(greedy_reference(engine.model, engine.template, r, 5, never)[0],
                                     skip_special_tokens=True) for r in requests]
    assert answers == expected
    assert len(set(answers)) == 3  # the images changed the answers


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    from tests.helpers.av_media import colour_video
    return colour_video(tmp_path_factory.mktemp('video') / 'clip.mp4', [(255, 0, 0), (0, 0, 255)], fps=4,
                        frames_each=2)  # one second: 2 frames at the default FPS 2


@pytest.mark.parametrize('name', ['internvl', 'llava_onevision'])
def test_encodes_a_video_row_and_trains_a_step(name, built, video):
    """Video without torchvision (frames read with PyAV): InternVL's frames as tiles in pixel_values with
    `Frame<i>: <img>…</img>` text, LLaVA-OneVision's pixel_values_videos; the forward checks the token count."""
    import torch
    model, tokenizer = get_model_tokenizer(str(built(name)), torch_dtype='float32')
    template = get_template(FAMILIES[name][1], tokenizer=tokenizer)
    encoded = template.encode({'messages': [{'role': 'user', 'content': '<video>What happens?'},
                                            {'role': 'assistant', 'content': 'colours'}], 'videos': [str(video)]})
    (start, end), = encoded['media_spans']
    assert end > start and set(encoded['labels'][start:end]) == {-100}
    ids = torch.tensor([encoded['input_ids']])
    batch = {'input_ids': ids, 'labels': torch.tensor([encoded['labels']]),
             'attention_mask': torch.tensor([encoded['attention_mask']]),
             **template.collate_media([encoded], input_ids=ids)}
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()
    aligner = model.model.get_submodule(FAMILIES[name][3])
    assert sum(p.grad.abs().sum() for p in aligner.parameters() if p.grad is not None) > 0  # the frames reached it


def test_idefics2_encoding_equals_its_processor_around_images(built):
    """Idefics2Processor edits the text around images (adjacent images share a `<fake_token_around_image>`, a space
    after one that a word follows): ours gives its ids, and its zero-padded pixels and masks for a batch."""
    import torch
    from transformers import AutoProcessor
    _, tokenizer = get_model_tokenizer(str(built('idefics2')), load_model=False)
    template = get_template('idefics2', tokenizer=tokenizer)
    images = [Image.effect_noise(size, 60).convert('RGB') for size in ((40, 30), (20, 60), (56, 56))]
    rows = [{'messages': [{'role': 'user', 'content': '<image><image>Which differ?'}], 'images': images[:2]},
            {'messages': [{'role': 'user', 'content': 'See <image>then answer.'}], 'images': images[2:]}]
    encoded = [template.encode(row, for_inference=True) for row in rows]
    processor = AutoProcessor.from_pretrained(str(built('idefics2')))
    for row, ours in zip(rows, encoded):
        text = template.render(row['messages'], add_generation_prompt=True)
        reference = processor(text=[text], images=[row['images']], add_special_tokens=False)
        assert reference['input_ids'][0] == ours['input_ids']
    reference = processor(text=[template.render(r['messages'], add_generation_prompt=True) for r in rows],
                          images=[r['images'] for r in rows], add_special_tokens=False, padding=True,
                          return_tensors='pt')
    batch = template.collate_media(encoded)
    assert torch.equal(reference['pixel_attention_mask'], batch['pixel_attention_mask'])
    assert torch.allclose(reference['pixel_values'], batch['pixel_values'])
