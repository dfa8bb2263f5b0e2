"""Qwen2.5-Omni (thinker) processor for images and audio, without torchvision.

transformers' `Qwen2_5OmniProcessor` always builds a video processor, and every video processor in transformers 5
imports torchvision (not usable on this machine: see image_only_processor.py). Images and audio need none of it:
this processor is Qwen-VL's (qwen_vl_processor.py: Qwen2-VL's PIL image processor, `<|IMAGE|>` x
image_grid_thw.prod() / merge_size²) with the Whisper feature extractor added: `<|AUDIO|>` x the audio encoder's
output length (two stride-2 steps over the mel frames). Videos are not taken.

A released model keeps both parts' settings in one preprocessor_config.json (image processor and feature extractor
keys side by side); `save_pretrained` writes that file the same way, so the directory loads back here and with
transformers' AutoProcessor where torchvision is installed.
"""
import json
from pathlib import Path
from typing import Any, Dict

from swift.utils import atomic_write_text

from .qwen_vl_processor import QwenVLImageProcessor

IMAGE_TOKEN, AUDIO_TOKEN, VIDEO_TOKEN = '<|IMAGE|>', '<|AUDIO|>', '<|VIDEO|>'
MARKERS = ('<|vision_bos|>', '<|vision_eos|>', '<|audio_bos|>', '<|audio_eos|>')


class QwenOmniProcessor(QwenVLImageProcessor):
    """Image processor + feature extractor + tokenizer of a Qwen2.5-Omni model."""
    image_token, audio_token, video_token = IMAGE_TOKEN, AUDIO_TOKEN, VIDEO_TOKEN
    markers = (AUDIO_TOKEN, ) + MARKERS

    def __init__(self, image_processor, feature_extractor, tokenizer, chat_template=None):
        self.feature_extractor = feature_extractor
        super().__init__(image_processor, tokenizer, chat_template)

    def set_tokens(self, tokenizer) -> None:
        super().set_tokens(tokenizer)
        self.audio_token_id = self._token_id(tokenizer, AUDIO_TOKEN)

    @classmethod
    def from_pretrained(cls, model_dir, **kwargs) -> 'QwenOmniProcessor':
        from transformers import WhisperFeatureExtractor
        image_processor, tokenizer, _ = cls._load_parts(model_dir, **kwargs)
        # each part takes its own keys from the shared file
        return cls(image_processor, WhisperFeatureExtractor.from_pretrained(str(model_dir)), tokenizer)

    def replace_audio_token(self, audio_inputs: Dict[str, Any], audio_idx: int) -> str:
        return self.audio_token * int(audio_inputs['num_audio_tokens'][audio_idx])

    def save_pretrained(self, save_directory, **kwargs):
        save_directory = Path(save_directory)
        save_directory.mkdir(parents=True, exist_ok=True)
        settings = {**self.feature_extractor.to_dict(), **self.image_processor.to_dict(),
                    'processor_class': 'Qwen2_5OmniProcessor'}
        atomic_write_text(save_directory / 'preprocessor_config.json',
                          json.dumps(settings, indent=2, sort_keys=True, default=_plain) + '\n')
        self.tokenizer.save_pretrained(str(save_directory))
        return [str(save_directory)]

    def __repr__(self) -> str:
        return f'QwenOmniProcessor(image_processor={type(self.image_processor).__name__}, ' \
               f'feature_extractor={type(self.feature_extractor).__name__}, tokenizer={type(self.tokenizer).__name__})'


def _plain(value):
    """numpy arrays (the extractor's mel filters) and size objects as JSON values."""
    if hasattr(value, 'tolist'):
        return value.tolist()
    if hasattr(value, '__dict__'):
        return {k: v for k, v in vars(value).items() if v is not None}
    raise TypeError(f'{type(value).__name__} is not JSON serialisable')
