"""qwen2.5-vl-tiny and qwen3-vl-tiny (swift/model/tiny_qwen_vl.py: random models built once into the cache, like
qwen2-vl-tiny): plain transformers loads them with the family's official chat template (verbatim, as in
../shared), `swift sft` trains one step on image rows (the vision tower and the DeepStack / window-attention parts
change), and the engine's decoding of the trained checkpoint with the rope delta equals `model.generate` for an image
whose 3-D positions are shorter than its tokens (a 2 x 2 merged grid: 4 tokens over 2 positions), in a batch with a
text row."""
import pytest
import torch

from swift.infer.protocol import InferRequest, RequestConfig
from swift.infer.transformers_engine import TransformersEngine

from tests.helpers.generate_reference import greedy_reference
from tests.helpers.shapes import make_rows, write_jsonl

# family -> (registry alias, its official template under ../shared/data/chat_templates_multimodal, its class)
FAMILIES = {
    'qwen2_5_vl': ('qwen2.5-vl-tiny', 'Qwen__Qwen2.5-VL-7B-Instruct.jinja', 'Qwen2_5_VLForConditionalGeneration'),
    'qwen3_vl': ('qwen3-vl-tiny', 'Qwen__Qwen3-VL-2B-Instruct.jinja', 'Qwen3VLForConditionalGeneration'),
}


@pytest.fixture(scope='module', params=sorted(FAMILIES))
def built(request):
    from swift.model.tiny_vlm import built_model_dir
    family = request.param
    return family, built_model_dir(FAMILIES[family][0])


def test_plain_transformers_loads_it_with_the_official_template(built, shared_data):
    from transformers import AutoModelForImageTextToText, AutoTokenizer

    from swift.template import get_template
    family, model_dir = built
    alias, official, architecture = FAMILIES[family]
    model = AutoModelForImageTextToText.from_pretrained(str(model_dir))
    assert type(model).__name__ == architecture
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    assert tokenizer.chat_template == (shared_data / 'chat_templates_multimodal' / official).read_text('utf-8')
    messages = [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'What colour?'}]},
                {'role': 'assistant', 'content': [{'type': 'text', 'text': 'red'}]}]
    tagged = [{'role': 'user', 'content': '<image>What colour?'}, {'role': 'assistant', 'content': 'red'}]
    assert get_template(family).render(tagged) == tokenizer.apply_chat_template(messages, tokenize=False)


@pytest.fixture(scope='module')
def trained(built, tmp_path_factory):
    """One full-parameter `swift sft` step on two image rows of different sizes."""
    from swift.training.sft import sft_main
    family, model_dir = built
    folder = tmp_path_factory.mktemp(f'{family}-rows')
    rows = make_rows(folder, 2, seed=3, kinds=('colour', ))
    result = sft_main(model=FAMILIES[family][0], dataset=[str(write_jsonl(folder / 'train.jsonl', rows))],
                      tuner_type='full', freeze_vit=False, freeze_aligner=False, learning_rate=1e-2, max_steps=1, warmup_ratio=0.0,
                      per_device_train_batch_size=2, output_dir=str(folder / 'run'), save_steps=10000,
                      save_only_model=True, logging_steps=1, report_to=[], seed=0)
    return family, model_dir, result


def test_one_sft_step_trains_the_vision_tower(trained):
    from safetensors.torch import load_file
    _, model_dir, result = trained
    losses = [entry['loss'] for entry in result.log_history if 'loss' in entry]
    assert len(losses) == 1 and torch.isfinite(torch.tensor(losses[0]))
    before = load_file(str(model_dir / 'model.safetensors'))
    after = load_file(f'{result.last_checkpoint}/model.safetensors')
    changed = {name.split('visual.')[1].split('.')[0] for name in before  # saved as [model.]visual.<part>...
               if 'visual.' in name and not torch.equal(before[name], after[name])}
    assert {'patch_embed', 'blocks', 'merger'} <= changed, changed
    if trained[0] == 'qwen3_vl':
        assert {'pos_embed', 'deepstack_merger_list'} <= changed, changed


def test_engine_decodes_the_checkpoint_like_generate(trained):
    from PIL import Image
    _, _, result = trained
    request = InferRequest(messages=[{'role': 'user', 'content': 'What?'}], images=[Image.new('RGB', (100, 100))])
    with TransformersEngine(result.last_checkpoint) as engine:
        output = engine.infer([InferRequest(messages=[{'role': 'user', 'content': 'hi'}]), request],
                              RequestConfig(max_tokens=5, temperature=0, ignore_eos=True, logprobs=True))[1]
        template, tokenizer = engine.template, engine.tokenizer
        encoded = template.encode({'messages': request.messages, 'images': request.images}, for_inference=True)
        assert encoded['image_grid_thw'].tolist() == [[1, 4, 4]]  # 4 tokens, 2 positions: a rope delta of -2
        tokens, expected = greedy_reference(engine.model, template, request, 5,
                                            tokenizer.convert_tokens_to_ids('<|video_pad|>'))
    assert len(tokens) == 5
    assert output.choices[0].message.content == tokenizer.decode(tokens, skip_special_tokens=True)
    assert [e.logprob for e in output.choices[0].logprobs.content] == pytest.approx(expected, abs=1e-4)
