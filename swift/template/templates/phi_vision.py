"""Phi-4-multimodal (images and audio) and Phi-3 / Phi-3.5-vision (images, remote-code processor).

- Phi-4-multimodal: Phi-4-mini's layout (`<|user|>…<|end|><|assistant|>…<|end|>`, the eos after the last turn when
  no generation prompt is asked) with `<|image|>` / `<|audio|>` in place, as the processor chat template of the
  transformers-format checkpoint writes image / audio content parts; Phi4MultimodalProcessor expands each to
  num_img_tokens / audio_embed_sizes copies of itself.
- Phi-3-vision: `<|image_N|>\\n`, numbered through the conversation (the official template takes the text as the
  user wrote it; the model card writes `<|image_1|>\\n` before the question). The processor is the repository's
  own (remote code, swift/model/remote_code.py): `processor.image_processor(images)` gives pixel_values, image_sizes
  and num_img_tokens, and image N's tag becomes num_img_tokens[N-1] ids of value -N, which the model's
  Phi3ImageEmbedding finds as `input_ids < 0`.
"""
import re
from typing import Any, Dict, List

from ..base import Segment, TemplateMeta
from ..media import MediaPlugin, ROW_TAGS
from ..registry import register_template
from .vlm_common import TaggedTemplate

IMAGE, AUDIO = '<|image|>', '<|audio|>'
TAG = re.compile(r'<\|image_\d+\|>')


class Phi4MultimodalPlugin(MediaPlugin):
    placeholders = {'images': IMAGE, 'audios': AUDIO}
    drop_keys = ('num_img_tokens', )  # the processor's token counts (its unused_input_names)
    media_options = {}  # the processor's own crop budget (dynamic_hd); no pixel controls

    def image_replacement(self, processor, processed, index: int) -> str:
        return IMAGE * int(processed['num_img_tokens'][index])

    def sampling_rate(self, processor) -> int:
        return processor.audio_processor.sampling_rate

    def process_audios(self, processor, audios, sampling_rate: int, options) -> Dict[str, Any]:
        """The extractor's features; audio_attention_mask always (it returns one for several audios only), so that
        rows of different lengths batch with their padding masked."""
        import torch
        out = dict(processor.audio_processor(audios, sampling_rate=sampling_rate, return_tensors='pt'))
        if 'audio_attention_mask' not in out:
            out['audio_attention_mask'] = torch.ones(out['audio_input_features'].shape[:2], dtype=torch.bool)
        return out

    def audio_replacement(self, processor, processed, index: int) -> str:
        return AUDIO * int(processed['audio_embed_sizes'][index])

    def collate(self, key: str, values: List[Any]):
        """Rows' tensors into one batch: crops padded to the batch's most (zero pixels, mask ones, as the image
        processor pads within a call), audio features and their mask to the longest (zeros / False)."""
        import torch
        present = [v for v in values if v is not None]
        if not present:
            return None
        if key in ('image_pixel_values', 'image_attention_mask'):
            most = max(v.shape[1] for v in present)
            fill = 0 if key == 'image_pixel_values' else 1
            return torch.cat([torch.cat([v, v.new_full((v.shape[0], most - v.shape[1], *v.shape[2:]), fill)], 1)
                              for v in present])
        if key in ('audio_input_features', 'audio_attention_mask'):
            longest = max(v.shape[1] for v in present)
            pad = (0, 0) if present[0].dim() == 3 else ()
            return torch.cat([torch.nn.functional.pad(v, pad + (0, longest - v.shape[1])) for v in present])
        return torch.cat(present)


class Phi4MultimodalTemplate(TaggedTemplate):
    plugin = Phi4MultimodalPlugin()
    render_tags = {'images': IMAGE, 'audios': AUDIO}


class Phi3VisionPlugin(MediaPlugin):
    """The remote Phi3VProcessor's API: its image_processor gives pixel_values, image_sizes and num_img_tokens; the
    tag is replaced by num_img_tokens copies of the tokenizer's `<|image|>` (ms-swift's way, id 32044 in the
    released tokenizer), which Phi3VisionTemplate.encode turns into the -N ids the model reads."""
    placeholders = {'images': '<|image|>'}  # where _expand_media put each image's run (see the template)
    drop_keys = ('num_img_tokens', )
    media_options = {}

    def image_replacement(self, processor, processed, index: int) -> str:
        return '<|image|>' * int(processed['num_img_tokens'][index])


class Phi3VisionTemplate(TaggedTemplate):
    """`<|image_N|>\\n` numbered through the conversation; the generation prompt only after a non-assistant turn.
    Encoding: the N-th image's tag `<|image_N|>` becomes num_img_tokens[N-1] ids of value -N, as Phi3VProcessor
    writes them (the text between tags is tokenized in one pass here; the remote processor tokenizes each chunk
    apart and drops its BOS: unverified against it, no remote code here)."""
    plugin = Phi3VisionPlugin()

    def _expand_media(self, segments, replacements):
        if not replacements.get('images'):
            return super()._expand_media(segments, replacements)
        tagged = [Segment(TAG.sub('<|image|>', s.text), s.answer_of) for s in segments]
        return super()._expand_media(tagged, replacements)

    def encode(self, row, for_inference: bool = False):
        encoded = super().encode(row, for_inference)
        ids = encoded['input_ids']
        for number, (start, end) in enumerate(encoded['media_spans'], 1):
            ids[start:end] = [-number] * (end - start)
        return encoded

    def render_segments(self, messages, add_generation_prompt=False, tools=None, enable_thinking=None, **options):
        self._count = 0
        if messages and messages[-1].get('role') == 'assistant':
            add_generation_prompt = False
        return super().render_segments(messages, add_generation_prompt, tools, enable_thinking, **options)

    def _content(self, content: str, role: str) -> str:
        pieces = content.split(ROW_TAGS['images'])
        out = pieces[0]
        for piece in pieces[1:]:
            self._count += 1
            out += f'<|image_{self._count}|>\n' + piece
        return out


register_template(TemplateMeta('phi4_multimodal', system_prefix='<|system|>{{SYSTEM}}<|end|>',
                               system_turn='<|system|>{{SYSTEM}}<|end|>', prompt='<|user|>{{QUERY}}<|end|>',
                               response='<|assistant|>{{RESPONSE}}<|end|>', suffix='<|endoftext|>',
                               stop_words=['<|end|>', '<|endoftext|>'], template_cls=Phi4MultimodalTemplate,
                               description='Phi-4-multimodal (transformers format), images and audio'))
register_template(TemplateMeta('phi3_vision', system_prefix='<|system|>\n{{SYSTEM}}<|end|>\n',
                               prompt='<|user|>\n{{QUERY}}<|end|>\n', response='<|assistant|>\n{{RESPONSE}}<|end|>',
                               chat_sep='\n', stop_words=['<|end|>', '<|endoftext|>'], template_cls=Phi3VisionTemplate,
                               description='Phi-3-vision / Phi-3.5-vision, images (remote-code processor)'))
