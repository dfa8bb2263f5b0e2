"""Gemma 3 (vision), InternVL 2.5/3 (HF format), Idefics2/Idefics3, Llama 3.2 Vision, and the families with no
official template stored here (GLM-4V, Pixtral/Mistral-Small-3.1). MiniCPM-V: minicpmv.py; Phi: phi_vision.py.

- Gemma 3: `<start_of_image>` where the row has the image; the official template trims every text part, so the
  text on each side of a tag is trimmed; the processor expands `<start_of_image>` to its image sequence.
- InternVL (-hf): `<image>\\n` in place; the processor expands `<image>` to `<img><IMG_CONTEXT>…</img>`.
- Idefics2/3: SmolVLM's layout (`User:<image>…<end_of_utterance>\\n`), Idefics3 opening with `<|begin_of_text|>`.
- Llama 3.2 Vision: `<|image|>` in place; with images there is no system block (the official template refuses a
  system message together with images, and so do we).
"""
from ..base import Chat, Rendering, Segment, TemplateMeta
from ..grounding import INTERNVL
from ..media import ROW_TAGS, MediaPlugin, pad_images, pad_rows
from ..registry import register_template
from .chatml import chatml_meta
from .smolvlm import Idefics3Plugin
from .vlm_common import TaggedTemplate
from swift.utils import SwiftError

END = '<end_of_utterance>'


class Gemma3Plugin(MediaPlugin):
    placeholders = {'images': '<start_of_image>'}
    drop_keys = ('num_crops',)  # the processor's count of pan-and-scan crops, read by replace_image_token only
    # measured: a packed row's logits differ from each sample's alone (0.48 on the tiny model) — transformers' packed
    # masks renumber positions per sample before its image-block mask reads token_type_ids by position
    packing_refusal = ('its image tokens attend each other both ways through a mask that transformers\' packed-row '
                       'masks renumber per sample, so a packed row does not give each sample its own logits '
                       '(measured)')

    def token_inputs(self, processor, input_ids, media=None):
        """token_type_ids (1 on image soft tokens), as Gemma3Processor returns them: the model lets the tokens of
        one image attend to each other both ways only where they are marked."""
        return {'token_type_ids': (input_ids == processor.tokenizer.image_token_id).long()}


class Gemma3VLTemplate(TaggedTemplate):
    plugin = Gemma3Plugin()
    render_tags = {'images': '<start_of_image>'}

    def _content(self, content: str, role: str) -> str:
        pieces = content.split(ROW_TAGS['images'])
        return self.render_tags['images'].join(p.strip() for p in pieces)

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages, prefix = chat.messages, ''
        if messages and messages[0]['role'] == 'system':
            prefix, messages = (messages[0].get('content') or '') + '\n\n', messages[1:]
            offset = 1
        else:
            offset = 0
        out.prompt('<bos>')
        for i, message in enumerate(messages):
            if (message['role'] == 'user') != (i % 2 == 0):
                raise SwiftError(f'template {self.name!r}: conversation roles must alternate user/assistant/...')
            first = prefix if i == 0 else ''
            content = message.get('content') or ''
            if message['role'] == 'assistant':
                self._emit_answer(chat, out, '<start_of_turn>model\n', first + content + '<end_of_turn>', i + offset)
                out.prompt('\n')
            else:
                out.prompt(f'<start_of_turn>{message["role"]}\n{first}{content}<end_of_turn>\n')
        if chat.add_generation_prompt:
            out.prompt('<start_of_turn>model\n')


class InternVLPlugin(MediaPlugin):
    """Videos as InternVLProcessor takes them (its video processor needs torchvision): each PyAV frame one tile
    resized to the image size (the image processor without cropping), the frames joined to the images'
    pixel_values (the model reads both there), and `Frame1: <img>…</img>\n…` from the processor's
    replace_video_token. A row has either images or videos (both would share pixel_values; their order is the
    text's)."""
    placeholders = {'images': '<image>', 'videos': '<video>'}
    drop_keys = ('video_frames',)
    # the model encodes the batch's tiles (and frames) in order and scatters them over the image tokens in order
    packing_refusal = None

    def process_videos(self, processor, videos, options):
        import torch
        frames = [frame for clip, _ in videos for frame in clip]
        pixels = processor.image_processor(frames, crop_to_patches=False, return_tensors='pt')['pixel_values']
        return {'pixel_values': pixels, 'video_frames': torch.tensor([len(clip) for clip, _ in videos])}

    def video_replacement(self, processor, processed, index):
        import torch
        frames = torch.empty(int(processed['video_frames'][index]), 0)  # replace_video_token reads the count
        return processor.replace_video_token({'pixel_values_videos': [frames]}, video_idx=0)


class InternVLTemplate(TaggedTemplate):
    plugin = InternVLPlugin()
    render_tags = {'images': '<image>\n', 'videos': '<video>\n'}
    grounding = INTERNVL  # <ref>..</ref><box>[[x1, y1, x2, y2]]</box>, 0..1000


class Idefics2Plugin(MediaPlugin):
    """Images as Idefics2Processor.__call__ writes them (it has no replace_image_token): `<fake_token_around_image>`
    around `<image>` x image_seq_len (5 such runs, joined, with image splitting). The processor pads a call's images
    to its largest; a batch pads rows' images the same way (zeros, which pixel_attention_mask marks)."""
    placeholders = {'images': '<image>'}
    media_options = {}  # the processor's own size (longest / shortest edge), no pixel budget
    packing_refusal = None  # as Idefics3: a row's images, in order, fill its image tokens in order

    def process_images(self, processor, images, options):
        return super().process_images(processor, [images], options)  # one sample holding the row's images

    def image_replacement(self, processor, processed, index):
        fake = processor.fake_image_token
        text = f'{fake}{processor.image_token * processor.image_seq_len}{fake}'
        if processor.image_processor.do_image_splitting:
            text = (text * 5).replace(fake + fake, fake)
        return text

    def pack_media(self, key, values):
        """A packed row's images: [1, n_i, 3, H_i, W_i] per sample → [1, sum n_i, 3, most H, most W], zero-padded
        (pixel_attention_mask alike: the padding is masked out), in the samples' order."""
        present = [v for v in values if v is not None]
        return pad_images([v[0] for v in present], dim=0)[None] if present else None

    def collate(self, key, values):
        return pad_rows(values)


class IdeficsTemplate(TaggedTemplate):
    """Idefics2 / Idefics3: the SmolVLM layout without SmolVLM's `<|im_start|>` (Idefics3 writes its BOS)."""
    render_tags = {'images': '<image>'}

    def _render(self, chat: Chat, out: Rendering) -> None:
        out.prompt(self.meta.prefix)
        for index, message in enumerate(chat.messages):
            content = message.get('content') or ''
            separator = ':' if content.startswith('<image>') else ': '
            if message['role'] == 'assistant':
                self._emit_answer(chat, out, 'Assistant', f'{separator}{content}{END}\n', index)
            else:
                out.prompt(f'{message["role"].capitalize()}{separator}{content}{END}\n')
        if chat.add_generation_prompt:
            out.prompt('Assistant:')


class Idefics2Template(IdeficsTemplate):
    plugin = Idefics2Plugin()

    def _expand_media(self, segments, replacements):
        """Idefics2Processor also edits the text around images: adjacent images share one `<fake_token_around_image>`
        and a space follows one that text (not whitespace, not `<`) follows."""
        segments, spans = super()._expand_media(segments, replacements)
        fake = self.processor.fake_image_token
        starts = {start for start, _ in spans}
        out, new_spans, position, original, previous_media = [], [], 0, 0, False
        for segment in segments:
            text, media = segment.text, original in starts
            original += len(segment.text)
            if media and previous_media and text.startswith(fake) and out[-1].text.endswith(fake):
                text = text[len(fake):]
            elif not media and previous_media and not text[0].isspace() and text[0] != '<':
                text = ' ' + text
            if media:
                new_spans.append((position, position + len(text)))
            out.append(Segment(text, segment.answer_of))
            position += len(text)
            previous_media = media
        return out, new_spans


class Idefics3ImagePlugin(Idefics3Plugin):
    placeholders = {'images': '<image>'}  # Idefics3 itself takes no video (SmolVLM2 does: template 'smolvlm')


class Idefics3Template(IdeficsTemplate):
    plugin = Idefics3ImagePlugin()  # SmolVLM's processor is Idefics3's


class MllamaPlugin(MediaPlugin):
    placeholders = {'images': '<|image|>'}
    drop_keys = ('num_tiles',)  # read back from aspect_ratio_mask for the cross-attention mask

    def collate(self, key, values):
        """Rows of different image counts: padded with zero images, as MllamaImageProcessor pads a batch (its
        aspect_ratio_mask marks the first tile of every image slot, padding included)."""
        batch = pad_rows(values)
        if key == 'aspect_ratio_mask' and batch is not None:
            batch[:, :, 0] = 1
        return batch

    def token_inputs(self, processor, input_ids, media=None):
        """cross_attention_mask [batch, length, images, tiles], built by MllamaProcessor's own functions: each token
        from an image's `<|image|>` on reads that image's real tiles (aspect_ratio_mask marks them)."""
        if not media or 'aspect_ratio_mask' not in media:
            return {}
        import torch
        from transformers.models.mllama.processing_mllama import (convert_sparse_cross_attention_mask_to_dense,
                                                                  get_cross_attention_token_mask)
        tiles = media['aspect_ratio_mask']
        spans = [get_cross_attention_token_mask(row.tolist(), processor.image_token_id) for row in input_ids]
        mask = convert_sparse_cross_attention_mask_to_dense(spans, num_tiles=tiles.sum(-1).tolist(),
                                                            max_num_tiles=tiles.shape[-1], length=input_ids.shape[1])
        return {'cross_attention_mask': torch.from_numpy(mask)}


class Llama32VisionTemplate(TaggedTemplate):
    plugin = MllamaPlugin()
    render_tags = {'images': '<|image|>'}
    DEFAULT_DATE = '26 Jul 2024'

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages, start, system = chat.messages, 0, ''
        if messages[0]['role'] == 'system':
            system, start = (messages[0].get('content') or '').strip(), 1
        has_images = any('<|image|>' in (m.get('content') or '') for m in messages[start:])
        if has_images and system:
            raise SwiftError(f'template {self.name!r}: prompting with images is incompatible with system messages '
                             '(as in the official template); remove the system message')
        out.prompt('<|begin_of_text|>')
        if not has_images:
            date = chat.options.get('date_string') or self.DEFAULT_DATE
            out.prompt('<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n'
                       f'Today Date: {date}\n\n{system}<|eot_id|>')
        for index in range(start, len(messages)):
            message = messages[index]
            header = f'<|start_header_id|>{message["role"]}<|end_header_id|>\n\n'
            if message['role'] == 'assistant':
                self._emit_answer(chat, out, header, (message.get('content') or '') + '<|eot_id|>', index)
            else:
                out.prompt(header + (message.get('content') or '') + '<|eot_id|>')
        if chat.add_generation_prompt:
            out.prompt('<|start_header_id|>assistant<|end_header_id|>\n\n')


class PixtralPlugin(MediaPlugin):
    """Images keep their own size (a multiple of the merged patch); a batch zero-pads them to the largest height and
    width, as PixtralImageProcessor pads within one call: the vision tower cuts each image's patches back to
    `image_sizes`. A packed row's images are joined the same way."""
    placeholders = {'images': '[IMG]'}
    packing_refusal = None

    def process_images(self, processor, images, options):
        # as PixtralProcessor._process_images: sizes are multiples of the merged patch (Mistral3 merges 2x2)
        patch_size = processor.patch_size * processor.spatial_merge_size
        return dict(processor.image_processor(images, return_tensors='pt', patch_size=patch_size, **options))

    def collate(self, key, values):
        if key == 'pixel_values':
            return pad_images([v for v in values if v is not None], dim=0)
        return super().collate(key, values)


class PixtralTemplate(TaggedTemplate):
    """Pixtral / Mistral-Small-3.1: `[INST]…[/INST]` with `[IMG]` in place (expanded by PixtralProcessor to rows of
    `[IMG]`, `[IMG_BREAK]`, `[IMG_END]`); no official copy stored here to compare with."""
    plugin = PixtralPlugin()
    render_tags = {'images': '[IMG]'}


class Glm4vPlugin(MediaPlugin):
    """Images: Glm4vImageProcessorPil and Glm4vProcessor.replace_image_token. Videos: swift/model/glm4v_video.py
    (Glm4vVideoProcessor's frame sampling, sizes and patches, frames resized with PIL), written per temporal patch
    with its second by Glm4vProcessor.replace_video_token."""
    placeholders = {'images': '<|image|>', 'videos': '<|video|>'}
    media_options = {'max_pixels': 'max_pixels', 'min_pixels': 'min_pixels', 'video_max_pixels': 'video_max_pixels',
                     'video_min_pixels': 'video_min_pixels'}
    drop_keys = ('video_metadata',)  # what replace_video_token reads, not a model input
    # as Qwen-VL's: media joined in the samples' order, each sample's M-RoPE positions its own
    # (swift/model/mrope_packing.py)
    packing_refusal = None

    def process_images(self, processor, images, options):
        size = dict(processor.image_processor.size)
        if options.get('min_pixels') is not None:
            size['shortest_edge'] = int(options['min_pixels'])
        if options.get('max_pixels') is not None:
            size['longest_edge'] = int(options['max_pixels'])
        return dict(processor.image_processor(images, size=size, return_tensors='pt'))

    def load_video(self, item, options, processor=None):
        from swift.model.glm4v_video import frame_sampler
        from swift.utils.media import load_video
        if options.get('fps_max_frames'):
            raise SwiftError('FPS_MAX_FRAMES: GLM-4V samples FPS frames a second over at most its video processor\'s '
                             'max_duration (video_preprocessor_config.json), not a frame count; unset it, or lower FPS')
        return load_video(item, sampler=frame_sampler(processor.video_processor, fps=options.get('fps')))

    def process_videos(self, processor, videos, options):
        from swift.model.glm4v_video import process_videos
        return process_videos(processor, videos, options)

    def token_inputs(self, processor, input_ids, media=None):
        """mm_token_type_ids as Glm4vProcessor returns them (1 on image tokens, 2 on the `<|image|>` tokens of a
        video's frames): the model's 3-D rotary positions are computed from them."""
        import torch
        if media and 'pixel_values' in media and 'pixel_values_videos' in media:
            # Glm4vModel.get_placeholder_mask takes every <|image|> token for the images and again for the videos
            raise SwiftError('GLM-4V: a batch holds both images and videos, which transformers\' Glm4v forward cannot '
                             'take together (its image and video tokens are the same <|image|> token); put image '
                             'rows and video rows in separate batches (--per_device_train_batch_size 1, or separate '
                             'runs)')
        return {'mm_token_type_ids': torch.tensor(processor.create_mm_token_type_ids(input_ids.tolist()),
                                                  dtype=torch.int32)}


class Glm4vTemplate(TaggedTemplate):
    """GLM-4.1V / GLM-4.5V (HF Glm4vForConditionalGeneration): `<|begin_of_image|><|image|><|end_of_image|>`."""
    plugin = Glm4vPlugin()
    render_tags = {'images': '<|begin_of_image|><|image|><|end_of_image|>',
                   'videos': '<|begin_of_video|><|video|><|end_of_video|>'}


register_template(TemplateMeta('gemma3_vl', prefix='<bos>', response='<start_of_turn>model\n{{RESPONSE}}<end_of_turn>',
                               stop_words=['<end_of_turn>', '<eos>'], template_cls=Gemma3VLTemplate,
                               description='Gemma 3 with images (4B and up)'))
register_template(chatml_meta('internvl_hf', stop_words=['<|im_end|>'], template_cls=InternVLTemplate,
                              description='InternVL 2.5 / 3 (HF format), images and videos'))
register_template(TemplateMeta('idefics2', response='Assistant: {{RESPONSE}}' + END + '\n', generation_prompt='Assistant:',
                               stop_words=[END], template_cls=Idefics2Template, description='Idefics2, images'))
register_template(TemplateMeta('idefics3', prefix='<|begin_of_text|>', response='Assistant: {{RESPONSE}}' + END + '\n',
                               generation_prompt='Assistant:', stop_words=[END], template_cls=Idefics3Template,
                               description='Idefics3 (Llama 3 LM), images'))
register_template(TemplateMeta('llama3_2_vision', prefix='<|begin_of_text|>',
                               response='<|start_header_id|>assistant<|end_header_id|>\n\n{{RESPONSE}}<|eot_id|>',
                               stop_words=['<|eot_id|>'], template_cls=Llama32VisionTemplate,
                               description='Llama 3.2 Vision (Mllama), images'))
register_template(TemplateMeta('pixtral', prefix='<s>', prompt='[INST]{{QUERY}}[/INST]', response='{{RESPONSE}}</s>',
                               system_prefix='<s>[SYSTEM_PROMPT]{{SYSTEM}}[/SYSTEM_PROMPT]', stop_words=['</s>'],
                               template_cls=PixtralTemplate, description='Pixtral / Mistral-Small-3.1, images'))
register_template(TemplateMeta('glm4v', prefix='[gMASK]<sop>', system_prefix='[gMASK]<sop><|system|>\n{{SYSTEM}}',
                               prompt='<|user|>\n{{QUERY}}', response='<|assistant|>\n{{RESPONSE}}',
                               generation_prompt='<|assistant|>\n', stop_words=['<|user|>', '<|endoftext|>'],
                               template_cls=Glm4vTemplate, description='GLM-4.1V / GLM-4.5V, images and videos'))
