"""Processors without torchvision, for families whose transformers 5 processor cannot be built here.

InternVL, LLaVA-OneVision, GLM-4V, MiniCPM-V 4.6 / 4.7, Qwen-VL and Qwen2.5-Omni processors always build a video
processor, and every video processor in transformers 5 imports torchvision; PixtralProcessor's module imports torchvision. The
torchvision wheels reachable here are CUDA-linked and break transformers, so `AutoProcessor` cannot load these
models on this machine. Images need none of it: each family's image processor has a PIL backend
(`*ImageProcessorPil`, same resizing, tiling and normalisation).

`ImageOnlyProcessor` is the one base: it holds the tokenizer and chat template, checks the vocabulary for the
family's media tokens (`_token_id`), loads the PIL image processor in `from_pretrained` and writes image processor
and tokenizer in `save_pretrained`. Each class below (but Pixtral's) also derives from the family's own transformers
processor class, built without its `__init__` (which is what needs torchvision): it sets the attributes that the
class's `replace_image_token` and helpers read, from the tokenizer and the directory's processor_config.json, so
the number of image tokens comes from transformers' own code; `save_pretrained` writes processor_config.json with
the transformers processor class named, so AutoProcessor loads the directory where torchvision is installed.
Qwen-VL (qwen_vl_processor.py) and Qwen2.5-Omni (qwen_omni_processor.py) subclass the base. The model registry
imports these modules only when loading.
"""
import json
from pathlib import Path
from typing import Any, Dict

import transformers

from swift.utils import SwiftError


class ImageOnlyProcessor:
    """Base of swift's torchvision-free processors, put in front of a transformers processor class where the family's
    replace_image_token is transformers' own; `settings` are its processor_config.json keys."""
    settings: Dict[str, Any] = {}  # key → default where processor_config.json lacks it
    image_processor_class = ''  # the PIL image processor of the family (a name in transformers)
    # the transformers processor it stands for, where it is not a base class; None: no processor_config.json is
    # written (the image processor's preprocessor_config.json keeps the model's processor_class)
    processor_class = ''

    def __init__(self, image_processor, tokenizer, chat_template=None, **settings):
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.video_processor = None
        self.chat_template = chat_template if chat_template is not None else getattr(tokenizer, 'chat_template', None)
        for key, default in self.settings.items():
            setattr(self, key, settings.get(key, default))
        self.set_tokens(tokenizer)

    def set_tokens(self, tokenizer) -> None:
        """The family's media tokens and ids, as its processor's __init__ sets them."""
        raise NotImplementedError

    @staticmethod
    def _token_id(tokenizer, token: str) -> int:
        token_id = tokenizer.get_vocab().get(token)
        if token_id is None:
            raise SwiftError(f'the tokenizer has no {token!r} token: not this model family\'s tokenizer')
        return token_id

    @classmethod
    def from_pretrained(cls, model_dir, **kwargs):
        image_processor, tokenizer, settings = cls._load_parts(model_dir, **kwargs)
        return cls(image_processor, tokenizer, **settings)

    @classmethod
    def _load_parts(cls, model_dir, **kwargs):
        """(PIL image processor, tokenizer, this class's processor_config.json settings) of a model directory."""
        model_dir = Path(model_dir)
        if not (model_dir / 'preprocessor_config.json').is_file():
            raise OSError(f'{model_dir} has no preprocessor_config.json (the image processor settings)')
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), **kwargs)
        # the PIL class takes the same settings whatever image_processor_type the file names (the torchvision one,
        # a Fast one: the same settings)
        image_processor = getattr(transformers, cls.image_processor_class).from_pretrained(str(model_dir))
        config_file = model_dir / 'processor_config.json'
        settings = json.loads(config_file.read_text()) if config_file.is_file() else {}
        return image_processor, tokenizer, {k: v for k, v in settings.items() if k in cls.settings}

    def save_pretrained(self, save_directory, **kwargs):
        from swift.utils.io import atomic_write_text
        self.image_processor.save_pretrained(str(save_directory))
        self.tokenizer.save_pretrained(str(save_directory))
        if self.processor_class is None:
            return [str(save_directory)]
        config = {'processor_class': self.processor_class or next(
            c.__name__ for c in type(self).__mro__ if c.__module__.startswith('transformers.')),
                  **{key: getattr(self, key) for key in self.settings}}
        atomic_write_text(Path(save_directory) / 'processor_config.json', json.dumps(config, indent=2) + '\n')
        return [str(save_directory)]

    def __repr__(self) -> str:
        return f'{type(self).__name__}(image_processor={type(self.image_processor).__name__}, ' \
               f'tokenizer={type(self.tokenizer).__name__})'


class InternVLImageProcessor(ImageOnlyProcessor, transformers.InternVLProcessor):
    settings = {'image_seq_length': 256}
    image_processor_class = 'GotOcr2ImageProcessorPil'

    def set_tokens(self, tokenizer):
        self.start_image_token = getattr(tokenizer, 'start_image_token', None) or '<img>'
        self.end_image_token = getattr(tokenizer, 'end_image_token', None) or '</img>'
        self.image_token = getattr(tokenizer, 'context_image_token', None) or '<IMG_CONTEXT>'
        self.video_token = getattr(tokenizer, 'video_token', None) or '<video>'
        self.image_token_id = self._token_id(tokenizer, self.image_token)
        self.start_image_token_id = self._token_id(tokenizer, self.start_image_token)
        self.end_image_token_id = self._token_id(tokenizer, self.end_image_token)


class LlavaOnevisionImageProcessor(ImageOnlyProcessor, transformers.LlavaOnevisionProcessor):
    settings = {'num_image_tokens': None, 'vision_feature_select_strategy': None, 'vision_aspect_ratio': 'anyres_max_9'}
    image_processor_class = 'LlavaOnevisionImageProcessorPil'

    def set_tokens(self, tokenizer):
        self.image_token = getattr(tokenizer, 'image_token', None) or '<image>'
        self.video_token = getattr(tokenizer, 'video_token', None) or '<video>'
        self.image_token_id = self._token_id(tokenizer, self.image_token)


class Glm4vImageProcessor(ImageOnlyProcessor, transformers.Glm4vProcessor):
    """Also holds a real Glm4vVideoProcessor (its settings and sampling rules; the frames are resized with PIL in
    swift/model/glm4v_video.py): from video_preprocessor_config.json where the directory has one, else from the
    image processor's settings, as transformers falls back."""
    image_processor_class = 'Glm4vImageProcessorPil'

    def __init__(self, image_processor, tokenizer, chat_template=None, video_processor=None, **settings):
        from transformers.models.glm4v.video_processing_glm4v import Glm4vVideoProcessor
        super().__init__(image_processor, tokenizer, chat_template, **settings)
        # without video settings of its own, transformers builds the video processor from the image processor's
        self.video_processor = video_processor or Glm4vVideoProcessor.from_dict(image_processor.to_dict())

    def set_tokens(self, tokenizer):
        self.image_token = getattr(tokenizer, 'image_token', None) or '<|image|>'
        self.video_token = getattr(tokenizer, 'video_token', None) or '<|video|>'
        self.image_token_id = self._token_id(tokenizer, self.image_token)
        self.video_token_id = tokenizer.get_vocab().get(self.video_token)
        self.video_start_id = tokenizer.get_vocab().get('<|begin_of_video|>')
        self.video_end_id = tokenizer.get_vocab().get('<|end_of_video|>')

    @classmethod
    def from_pretrained(cls, model_dir, **kwargs):
        from transformers.models.glm4v.video_processing_glm4v import Glm4vVideoProcessor
        image_processor, tokenizer, settings = cls._load_parts(model_dir, **kwargs)
        video_processor = None
        if (Path(model_dir) / 'video_preprocessor_config.json').is_file():
            video_processor = Glm4vVideoProcessor.from_pretrained(str(model_dir))
        return cls(image_processor, tokenizer, video_processor=video_processor, **settings)

    def save_pretrained(self, save_directory, **kwargs):
        saved = super().save_pretrained(save_directory, **kwargs)
        if self.video_processor is not None:
            self.video_processor.save_pretrained(str(save_directory))
        return saved


class PixtralImageProcessor(ImageOnlyProcessor):
    """Pixtral / Mistral-Small-3.1: transformers' processing_pixtral module imports torchvision when it loads, so
    its class cannot be a base here; replace_image_token is PixtralProcessor's, written out."""
    settings = {'patch_size': 16, 'spatial_merge_size': 1, 'image_token': '[IMG]', 'image_break_token': '[IMG_BREAK]',
                'image_end_token': '[IMG_END]'}
    image_processor_class = 'PixtralImageProcessorPil'
    processor_class = 'PixtralProcessor'

    def set_tokens(self, tokenizer):
        self.image_token_id = self._token_id(tokenizer, self.image_token)
        self.image_break_token_id = self._token_id(tokenizer, self.image_break_token)
        self.image_end_token_id = self._token_id(tokenizer, self.image_end_token)

    def replace_image_token(self, image_inputs: dict, image_idx: int, **kwargs) -> str:
        """Rows of `[IMG]` per merged patch, each row closed by `[IMG_BREAK]`, the last by `[IMG_END]`."""
        cell = self.patch_size * self.spatial_merge_size
        height, width = (int(v) for v in image_inputs['image_sizes'][image_idx])
        rows = [[self.image_token] * (width // cell) + [self.image_break_token]] * (height // cell)
        tokens = [token for row in rows for token in row]
        tokens[-1] = self.image_end_token
        return ''.join(tokens)


class MiniCPMV46ImageProcessor(ImageOnlyProcessor, transformers.MiniCPMV4_6Processor):
    """MiniCPM-V 4.6: replace_image_token is
    MiniCPMV4_6Processor's (`<image>` + pads + `</image>`, then the slices' `<slice>…</slice>` rows); the local image
    id (`<image_id>i</image_id>`) that its __call__ prepends is the template plugin's."""
    image_processor_class = 'MiniCPMV4_6ImageProcessorPil'
    TOKENS = {'image_token': '<|image_pad|>', 'video_token': '<|video_pad|>', 'image_start_token': '<image>',
              'image_end_token': '</image>', 'slice_start_token': '<slice>', 'slice_end_token': '</slice>',
              'image_id_start_token': '<image_id>', 'image_id_end_token': '</image_id>'}

    def set_tokens(self, tokenizer):
        # as MiniCPMV4_6Processor.__init__: the tokenizer names its markup tokens (extra_special_tokens)
        for name, default in self.TOKENS.items():
            setattr(self, name, getattr(tokenizer, name, None) or default)
            if name != 'video_token':
                self._token_id(tokenizer, getattr(self, name))
        self.image_token_id = self._token_id(tokenizer, self.image_token)
        self.video_token_id = tokenizer.get_vocab().get(self.video_token)
        self.slice_mode = self.image_processor.slice_mode
        self.default_use_image_id = self.image_processor.use_image_id
        self.image_token_divisor = 4 if self.image_processor.downsample_mode == '4x' else 16


class MiniCPMV47ImageProcessor(ImageOnlyProcessor, transformers.MiniCPMV4_7Processor):
    """MiniCPM-V 4.7: 4.6's PIL image processor, markup tokens and replace_image_token; its __call__ also returns
    mm_token_type_ids (the model's canvas M-RoPE positions need them)."""
    image_processor_class = 'MiniCPMV4_6ImageProcessorPil'  # what AutoImageProcessor maps minicpmv4_7 to
    TOKENS = MiniCPMV46ImageProcessor.TOKENS
    set_tokens = MiniCPMV46ImageProcessor.set_tokens


PROCESSORS = {'internvl': InternVLImageProcessor, 'llava_onevision': LlavaOnevisionImageProcessor,
              'glm4v': Glm4vImageProcessor, 'pixtral': PixtralImageProcessor, 'minicpmv4_6': MiniCPMV46ImageProcessor,
              'minicpmv4_7': MiniCPMV47ImageProcessor}
