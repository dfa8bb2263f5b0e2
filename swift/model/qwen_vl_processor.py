"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL processor for images, without torchvision.

transformers' `Qwen2VLProcessor` (and the 2.5 / 3 ones) always builds a video processor, and every video processor
in transformers 5 imports torchvision; the torchvision wheels reachable here are CUDA-linked and break transformers,
so `AutoProcessor` cannot load these models on this machine. Images need none of it: the image processor has a PIL
backend (`Qwen2VLImageProcessorPil`, the same smart_resize, patching and normalisation). This processor holds that
image processor and the tokenizer and writes each image's tokens as Qwen2VLProcessor.replace_image_token does:
`<|image_pad|>` × image_grid_thw.prod() / merge_size². Videos: swift/model/qwen_vl_video.py (no video processor).

`save_pretrained` writes the image processor (preprocessor_config.json, with the model's processor_class kept, so
that AutoProcessor loads the directory where torchvision is installed) and the tokenizer with its chat template.
"""
from pathlib import Path
from typing import Any, Dict

from swift.utils import SwiftError

IMAGE_TOKEN = '<|image_pad|>'
VIDEO_TOKEN = '<|video_pad|>'


class QwenVLImageProcessor:
    """Image processor + tokenizer of a Qwen-VL model (the attributes swift's templates and checkpoints use)."""

    def __init__(self, image_processor, tokenizer, chat_template=None):
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.chat_template = chat_template if chat_template is not None else getattr(tokenizer, 'chat_template', None)
        self.image_token = IMAGE_TOKEN
        self.video_token = VIDEO_TOKEN
        vocab = tokenizer.get_vocab()
        missing = [t for t in (IMAGE_TOKEN, '<|vision_start|>', '<|vision_end|>') if t not in vocab]
        if missing:
            raise SwiftError(f'the tokenizer has no {", ".join(missing)} token(s): not a Qwen-VL tokenizer')
        self.image_token_id = vocab[IMAGE_TOKEN]
        self.video_token_id = vocab.get(VIDEO_TOKEN)

    @classmethod
    def from_pretrained(cls, model_dir, **kwargs) -> 'QwenVLImageProcessor':
        from transformers import AutoTokenizer
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
        if not (Path(model_dir) / 'preprocessor_config.json').is_file():
            raise OSError(f'{model_dir} has no preprocessor_config.json (the Qwen-VL image processor settings)')
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), **kwargs)
        # Qwen2VLImageProcessorPil takes the model's settings (min/max_pixels or size, patch, merge, mean/std)
        # whatever image_processor_type the file names (Qwen2VLImageProcessor, ...Fast: the same settings)
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(model_dir))
        return cls(image_processor, tokenizer)

    def replace_image_token(self, image_inputs: Dict[str, Any], image_idx: int) -> str:
        count = int(image_inputs['image_grid_thw'][image_idx].prod()) // self.image_processor.merge_size**2
        return self.image_token * count

    def save_pretrained(self, save_directory, **kwargs):
        self.image_processor.save_pretrained(str(save_directory))
        self.tokenizer.save_pretrained(str(save_directory))
        return [str(save_directory)]

    def __repr__(self) -> str:
        return f'QwenVLImageProcessor(image_processor={type(self.image_processor).__name__}, ' \
               f'tokenizer={type(self.tokenizer).__name__})'


def load_qwen_vl_processor(model_dir, trust_remote_code: bool = False) -> QwenVLImageProcessor:
    return QwenVLImageProcessor.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
