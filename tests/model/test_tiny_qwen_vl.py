"""qwen2-vl-tiny (swift/model/tiny_qwen_vl.py) and the torchvision-free Qwen-VL processor
(swift/model/qwen_vl_processor.py): plain transformers loads the built directory, swift's loader gives the PIL
image processor, and a released model's preprocessor_config.json (Qwen2.5-VL-7B, ../shared) loads the same way."""
import json

import pytest


@pytest.fixture(scope='module')
def qwen_vl_dir():
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    return ensure_qwen2_vl_tiny()


def test_plain_transformers_loads_the_tiny_model(qwen_vl_dir):
    from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    model = Qwen2VLForConditionalGeneration.from_pretrained(str(qwen_vl_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(qwen_vl_dir))
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(qwen_vl_dir))
    assert model.config.image_token_id == tokenizer.convert_tokens_to_ids('<|image_pad|>')
    assert model.config.vision_start_token_id == tokenizer.convert_tokens_to_ids('<|vision_start|>')
    assert sum(model.config.text_config.rope_parameters['mrope_section']) * 2 == \
        model.config.text_config.hidden_size // model.config.text_config.num_attention_heads
    assert image_processor.size.longest_edge == 56 * 56 and image_processor.merge_size == 2
    assert json.loads((qwen_vl_dir / 'swift_embedded.json').read_text())['seed'] == 1234


def test_swift_loads_it_by_alias_with_the_pil_processor(qwen_vl_dir):
    from swift.model.loader import get_model_tokenizer
    from swift.model.qwen_vl_processor import QwenVLImageProcessor
    _, tokenizer = get_model_tokenizer('qwen2-vl-tiny', load_model=False)
    info = tokenizer.model_info
    assert info.model_type == 'qwen2_vl' and info.template == 'qwen2_vl'
    assert isinstance(info.processor, QwenVLImageProcessor) and info.processor.tokenizer is tokenizer


def test_a_released_preprocessor_config_loads_without_torchvision(shared_data, qwen_vl_dir, tmp_path):
    """Qwen2.5-VL-7B-Instruct's preprocessor_config.json (image_processor_type Qwen2VLImageProcessor, min/max_pixels)
    gives the PIL image processor its settings."""
    import shutil

    from swift.model.qwen_vl_processor import QwenVLImageProcessor
    for name in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(qwen_vl_dir / name, tmp_path / name)
    shutil.copy(shared_data / 'vlm_configs/Qwen__Qwen2.5-VL-7B-Instruct/preprocessor_config.json', tmp_path)
    processor = QwenVLImageProcessor.from_pretrained(tmp_path)
    assert (processor.image_processor.size.shortest_edge, processor.image_processor.size.longest_edge) == \
        (3136, 12845056)
    assert (processor.image_processor.patch_size, processor.image_processor.merge_size) == (14, 2)
    saved = tmp_path / 'saved'
    processor.save_pretrained(saved)  # what checkpoints keep: loads back the same
    again = QwenVLImageProcessor.from_pretrained(saved)
    assert again.image_processor.size.longest_edge == 12845056


def test_a_tokenizer_without_vision_tokens_is_refused(smollm_dir):
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from swift.model.qwen_vl_processor import QwenVLImageProcessor
    from swift.utils import SwiftError
    with pytest.raises(SwiftError, match='image_pad'):
        QwenVLImageProcessor(Qwen2VLImageProcessorPil(), AutoTokenizer.from_pretrained(str(smollm_dir)))
