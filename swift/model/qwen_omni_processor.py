"""Qwen2.5-Omni (thinker) processor for images and audio, without torchvision.

transformers' `Qwen2_5OmniProcessor` always builds a video processor, and every video processor in transformers 5
imports torchvision (not usable on this machine: see qwen_vl_processor.py). Images and audio need none of it: this
processor holds Qwen2-VL's PIL image processor, the Whisper feature extractor and the tokenizer, and writes each
medium's tokens as Qwen2_5OmniProcessor does: `<|IMAGE|>` x image_grid_thw.prod() / merge_size², `<|AUDIO|>` x the
audio encoder's output length (two stride-2 steps over the mel frames). Videos are not taken.

A released model keeps both parts' settings in one preprocessor_config.json (image processor and feature extractor
keys side by side); `save_pretrained` writes that file the same way, so the directory loads back here and with
transformers' AutoProcessor where torchvision is installed.
"""
import json
from pathlib import Path
from typing import Any, Dict

from swift.utils import SwiftError, atomic_write_text

IMAGE_TOKEN, AUDIO_TOKEN, VIDEO_TOKEN = '<|IMAGE|>', '<|AUDIO|>', '<|VIDEO|>'
MARKERS = ('<|vision_bos|>', '<|vision_eos|>', '<|audio_bos|>', '<|audio_eos|>')


class QwenOmniProcessor:
    """Image processor + feature extractor + tokenizer of a Qwen2.5-Omni model."""

    def __init__(self, image_processor, feature_extractor, tokenizer, chat_template=None):
        self.image_processor = image_processor
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.chat_template = chat_template if chat_template is not None else getattr(tokenizer, 'chat_template', None)
        self.image_token, self.audio_token, self.video_token = IMAGE_TOKEN, AUDIO_TOKEN, VIDEO_TOKEN
        vocab = tokenizer.get_vocab()
        missing = [t for t in (IMAGE_TOKEN, AUDIO_TOKEN) + MARKERS if t not in vocab]
        if missing:
            raise SwiftError(f'the tokenizer has no {", ".join(missing)} token(s): not a Qwen2.5-Omni tokenizer')
        self.image_token_id = vocab[IMAGE_TOKEN]
        self.audio_token_id = vocab[AUDIO_TOKEN]
        self.video_token_id = vocab.get(VIDEO_TOKEN)

    @classmethod
    def from_pretrained(cls, model_dir, **kwargs) -> 'QwenOmniProcessor':
        from transformers import AutoTokenizer, WhisperFeatureExtractor
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
        if not (Path(model_dir) / 'preprocessor_config.json').is_file():
            raise OSError(f'{model_dir} has no preprocessor_config.json (the image and audio processor settings)')
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), **kwargs)
        # each part takes its own keys from the shared file
        return cls(Qwen2VLImageProcessorPil.from_pretrained(str(model_dir)),
                   WhisperFeatureExtractor.from_pretrained(str(model_dir)), tokenizer)

    def replace_image_token(self, image_inputs: Dict[str, Any], image_idx: int) -> str:
        count = int(image_inputs['image_grid_thw'][image_idx].prod()) // self.image_processor.merge_size**2
        return self.image_token * count

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


def load_qwen_omni_processor(model_dir, trust_remote_code: bool = False) -> QwenOmniProcessor:
    return QwenOmniProcessor.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
