"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL processor for images, without torchvision.

transformers' `Qwen2VLProcessor` (and the 2.5 / 3 ones) always builds a video processor, and every video processor
in transformers 5 imports torchvision (see image_only_processor.py, whose `ImageOnlyProcessor` this subclasses).
The image processor has a PIL backend (`Qwen2VLImageProcessorPil`, the same smart_resize, patching and
normalisation); each image's tokens are written as Qwen2VLProcessor.replace_image_token does:
`<|image_pad|>` × image_grid_thw.prod() / merge_size². Videos: swift/model/qwen_vl_video.py (no video processor).

`save_pretrained` writes the image processor (preprocessor_config.json, with the model's processor_class kept, so
that AutoProcessor loads the directory where torchvision is installed) and the tokenizer with its chat template.
"""
from typing import Any, Dict

from .image_only_processor import ImageOnlyProcessor

IMAGE_TOKEN = '<|image_pad|>'
VIDEO_TOKEN = '<|video_pad|>'


class QwenVLImageProcessor(ImageOnlyProcessor):
    """Image processor + tokenizer of a Qwen-VL model (the attributes swift's templates and checkpoints use)."""
    image_processor_class = 'Qwen2VLImageProcessorPil'  # min/max_pixels or size, patch, merge, mean/std
    processor_class = None  # preprocessor_config.json keeps the model's
    image_token, video_token = IMAGE_TOKEN, VIDEO_TOKEN
    markers = ('<|vision_start|>', '<|vision_end|>')  # around each image; the vocabulary must have them

    def set_tokens(self, tokenizer) -> None:
        self.image_token_id = self._token_id(tokenizer, self.image_token)
        for marker in self.markers:
            self._token_id(tokenizer, marker)
        self.video_token_id = tokenizer.get_vocab().get(self.video_token)

    def replace_image_token(self, image_inputs: Dict[str, Any], image_idx: int) -> str:
        """One image token per merged patch (Qwen2-VL and Qwen2.5-Omni alike)."""
        count = int(image_inputs['image_grid_thw'][image_idx].prod()) // self.image_processor.merge_size**2
        return self.image_token * count
