"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL / Qwen2-Audio / Qwen2.5-Omni: ChatML with vision (and audio) markers.

Each image is written `<|vision_start|><|image_pad|><|vision_end|>` where the row has it, each video
`<|vision_start|><|video_pad|><|vision_end|>`; the processor expands the pad token to one per merged patch
(`image_grid_thw.prod() // merge_size**2`). Qwen2-VL and Qwen2.5-VL ship the same official template (with the
default system prompt "You are a helpful assistant."); Qwen3-VL's writes a system block only when given one.
"""
from ..grounding import QWEN2_5_VL, QWEN2_VL
from ..media import MediaPlugin
from ..registry import register_template
from .chatml import chatml_meta
from .vlm_common import TaggedTemplate

QWEN_STOP_WORDS = ['<|im_end|>', '<|endoftext|>']


class QwenVLPlugin(MediaPlugin):
    placeholders = {'images': '<|image_pad|>', 'videos': '<|video_pad|>'}
    media_options = {'max_pixels': 'max_pixels', 'min_pixels': 'min_pixels'}


class QwenVLTemplate(TaggedTemplate):
    plugin = QwenVLPlugin()
    render_tags = {'images': '<|vision_start|><|image_pad|><|vision_end|>',
                   'videos': '<|vision_start|><|video_pad|><|vision_end|>'}
    grounding = QWEN2_VL  # boxes on a 0..1000 grid


class Qwen25VLTemplate(QwenVLTemplate):
    """Qwen2.5-VL renders as Qwen2-VL (same official template) but grounds in absolute pixels of the image after
    the processor's resize (ms-swift's norm_bbox 'none')."""
    grounding = QWEN2_5_VL


class QwenAudioPlugin(MediaPlugin):
    placeholders = {'audios': '<|AUDIO|>'}


class QwenAudioTemplate(TaggedTemplate):
    """Qwen2-Audio-Instruct: `Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\\n` (its processor's default template;
    no official copy is stored here to compare with)."""
    plugin = QwenAudioPlugin()
    render_tags = {'audios': '<|audio_bos|><|AUDIO|><|audio_eos|>\n'}


class QwenOmniPlugin(MediaPlugin):
    placeholders = {'images': '<|IMAGE|>', 'videos': '<|VIDEO|>', 'audios': '<|AUDIO|>'}


class QwenOmniTemplate(TaggedTemplate):
    plugin = QwenOmniPlugin()
    render_tags = {'images': '<|vision_bos|><|IMAGE|><|vision_eos|>', 'videos': '<|vision_bos|><|VIDEO|><|vision_eos|>',
                   'audios': '<|audio_bos|><|AUDIO|><|audio_eos|>'}


register_template(chatml_meta('qwen2_vl', default_system='You are a helpful assistant.', stop_words=QWEN_STOP_WORDS,
                              template_cls=QwenVLTemplate, description='Qwen2-VL / Qwen2.5-VL, images and videos'))
register_template(chatml_meta('qwen2_5_vl', default_system='You are a helpful assistant.',
                              stop_words=QWEN_STOP_WORDS, template_cls=Qwen25VLTemplate,
                              description='Qwen2.5-VL, images and videos (grounding in resized-image pixels)'))
register_template(chatml_meta('qwen3_vl', stop_words=QWEN_STOP_WORDS, template_cls=QwenVLTemplate,
                              description='Qwen3-VL instruct, images and videos (no tool format here)'))
register_template(chatml_meta('qwen2_audio', default_system='You are a helpful assistant.',
                              stop_words=QWEN_STOP_WORDS, template_cls=QwenAudioTemplate,
                              description='Qwen2-Audio-Instruct, audio'))
register_template(chatml_meta(
    'qwen2_5_omni', stop_words=QWEN_STOP_WORDS, template_cls=QwenOmniTemplate,
    default_system=('You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of perceiving '
                    'auditory and visual inputs, as well as generating text and speech.'),
    description='Qwen2.5-Omni (thinker), images, videos and audio'))
