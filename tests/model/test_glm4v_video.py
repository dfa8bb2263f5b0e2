"""GLM-4.1V videos without torchvision (swift/model/glm4v_video.py) on the tests' tiny random GLM-4.1V: the frames,
sizes, token text and token types are those of transformers' own Glm4vVideoProcessor / Glm4vProcessor arithmetic; a
batch of a video row and an image row trains; the engine decodes a video request as model.generate does."""
import pytest
from PIL import Image

from swift.model.loader import get_model_tokenizer
from swift.template import get_template

from tests.helpers import tiny_vlm_families as families
from tests.helpers.av_media import COLOURS, colour_video
from tests.helpers.generate_reference import engine_beside_text


@pytest.fixture(scope='module')
def glm(tmp_path_factory, smollm_dir):
    out = families.build_glm4v(smollm_dir, tmp_path_factory.mktemp('glm4v') / 'model')
    model, tokenizer = get_model_tokenizer(str(out), torch_dtype='float32')
    return out, model, tokenizer


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    # 3 seconds at 4 fps, 48 x 32 pixels: red, then blue, then green
    return str(colour_video(tmp_path_factory.mktemp('glm-video') / 'v.mp4',
                            [COLOURS['red'], COLOURS['blue'], COLOURS['green']], fps=4, frames_each=4, size=32))


def _video_row(video):
    return {'messages': [{'role': 'user', 'content': '<video>Which colour comes first?'},
                         {'role': 'assistant', 'content': 'red'}], 'videos': [video]}


def test_frames_sizes_and_text_follow_the_transformers_processor(glm, video):
    """6 frames (FPS 2 over 3 s: frames 0, 2, 4, 6, 8, 10 of 12) in 3 temporal patches; the size and token count are
    Glm4vVideoProcessor.get_num_of_video_patches' for that video; each patch is written with its second."""
    import torch
    from transformers.video_utils import VideoMetadata
    _, _, tokenizer = glm
    template = get_template('glm4v', tokenizer=tokenizer)
    processor = template.processor
    assert processor.video_processor.sample_frames(
        VideoMetadata(total_num_frames=12, fps=4.0, duration=3.0)).tolist() == [0, 2, 4, 6, 8, 10]
    encoded = template.encode(_video_row(video))
    grid = encoded['video_grid_thw'].tolist()
    patches = processor.video_processor.get_num_of_video_patches(6, 32, 32)
    assert grid[0][0] == 3 and grid[0][0] * grid[0][1] * grid[0][2] == patches
    assert encoded['pixel_values_videos'].shape[0] == patches
    per_frame = grid[0][1] * grid[0][2] // 4
    text = tokenizer.decode(encoded['input_ids'])
    frame = '<|begin_of_image|>' + '<|image|>' * per_frame + '<|end_of_image|>'
    assert '<|begin_of_video|>' + frame + '0' + frame + '1' + frame + '2' + '<|end_of_video|>' in text
    types = template.token_inputs(torch.tensor([encoded['input_ids']]))['mm_token_type_ids'][0].tolist()
    image_id = tokenizer.convert_tokens_to_ids('<|image|>')
    assert [t for t, i in zip(types, encoded['input_ids']) if i == image_id] == [2] * (3 * per_frame)
    assert set(t for t, i in zip(types, encoded['input_ids']) if i != image_id) == {0}


def test_fps_max_frames_is_refused_naming_the_rule(glm, video):
    from swift.utils import SwiftError
    _, _, tokenizer = glm
    template = get_template('glm4v', tokenizer=tokenizer, media_kwargs={'fps_max_frames': 4})
    with pytest.raises(SwiftError, match='max_duration'):
        template.encode(_video_row(video))


def test_the_processor_keeps_its_video_settings_through_save_and_reload(glm, tmp_path):
    from swift.model.image_only_processor import Glm4vImageProcessor
    _, _, tokenizer = glm
    processor = get_template('glm4v', tokenizer=tokenizer).processor
    processor.video_processor.fps = 1
    processor.save_pretrained(tmp_path)
    assert Glm4vImageProcessor.from_pretrained(tmp_path).video_processor.fps == 1


def test_a_batch_of_images_and_videos_is_refused_naming_the_model(glm, video):
    import torch

    from swift.utils import SwiftError
    _, _, tokenizer = glm
    template = get_template('glm4v', tokenizer=tokenizer)
    image_row = {'messages': [{'role': 'user', 'content': '<image>What?'}, {'role': 'assistant', 'content': 'red'}],
                 'images': [Image.effect_noise((40, 30), 60).convert('RGB')]}
    encoded = [template.encode(_video_row(video)), template.encode(image_row)]
    width = max(len(e['input_ids']) for e in encoded)
    ids = torch.tensor([[0] * (width - len(e['input_ids'])) + e['input_ids'] for e in encoded])
    with pytest.raises(SwiftError, match='both images and videos'):
        template.collate_media(encoded, input_ids=ids)


def test_a_video_row_trains_beside_a_text_row_and_the_engine_decodes_like_generate(glm, video):
    import torch

    from swift.infer.protocol import InferRequest
    from swift.training.collator import MediaCollator, PaddingCollator
    _, model, tokenizer = glm
    template = get_template('glm4v', tokenizer=tokenizer)
    rows = [_video_row(video),
            {'messages': [{'role': 'user', 'content': 'What?'}, {'role': 'assistant', 'content': 'red, I think'}]}]
    batch = MediaCollator(PaddingCollator(tokenizer.pad_token_id, padding_side='left'),
                          template)([template.encode(r) for r in rows])
    model.train()
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss)
    merger = model.model.visual.merger
    assert sum(p.grad.abs().sum() for p in merger.parameters() if p.grad is not None) > 0
    model.zero_grad()

    model.eval()
    request = InferRequest(messages=[{'role': 'user', 'content': 'Which colour comes first?'}], videos=[video])
    choice, (tokens, logprobs) = engine_beside_text(model, tokenizer, request, 4,
                                                    tokenizer.convert_tokens_to_ids('<|image|>'), template)
    assert [t.token for t in choice.logprobs.content] == [tokenizer.decode([t]) for t in tokens]
    assert [e.logprob for e in choice.logprobs.content] == pytest.approx(logprobs, abs=1e-4)
