"""Media in templates: placeholder tags in the rendered text → the model's media tokens and the processor's tensors.

A multimodal template renders a conversation like a text template does, each image left as its placeholder tag
(`<image>`) where the row's text has it (swift/dataset/media.py puts the tags there). `encode` then

1. loads the row's media (swift/utils/media.py) and applies the media size controls (media_options.py);
2. asks the family's MediaPlugin for the processor's tensors (pixel_values, ...) and, per item, the text that
   replaces its tag: transformers 5 processors say it themselves (`processor.replace_image_token`), e.g.
   SmolVLM's `<fake_token_around_image><global-img><image>…<fake_token_around_image>`;
3. tokenizes the expanded text once, labels tokens by segment as text templates do, and labels every token of
   an expansion -100: media tokens are never trained;
4. returns the token span of each expansion (`media_spans`): truncation must never cut into one, nor drop one
   while its pixels stay (the model counts them), so a row that would need it is an error instead.

Adding a family is one small file: a MediaPlugin subclass (or the default one) and a MultimodalTemplate subclass
naming it, registered with register_template; docs/multimodal.md ("Adding a family") walks through it.
"""
import bisect
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError
from swift.utils.media import MediaError, describe, load_audio, load_image, load_video

from .base import Segment, Template
from .encoding import IGNORE_INDEX, MaxLengthError, trained_spans
from .grounding import PLAIN, BoxFormat, ground_messages, qwen_resized_size
from .media_options import processor_kwargs, requested_media_options

MEDIA_KEYS = ('images', 'videos', 'audios')
ROW_TAGS = {'images': '<image>', 'videos': '<video>', 'audios': '<audio>'}  # what rows' text carries
NOT_MODEL_INPUTS = ('input_ids', 'labels', 'attention_mask', 'length', 'media_spans', 'loss_scale', 'position_ids')
_PART_TAGS = {'image': 'images', 'image_url': 'images', 'video': 'videos', 'video_url': 'videos',
              'audio': 'audios', 'input_audio': 'audios'}
# media size controls the decoders use (not the processor): any family taking that kind of media accepts them
DECODER_OPTIONS = {'videos': ('fps', 'fps_max_frames'), 'audios': ('sampling_rate', )}


class MediaPlugin:
    """What one model family does with media. The defaults fit transformers 5 processors with an image_processor
    and replace_image_token; a family overrides only what differs."""
    placeholders: Dict[str, str] = {'images': '<image>'}  # the tag in the rendered text, per media kind it takes
    image_kwargs: Dict[str, Any] = {}  # fixed keywords of the image processor call
    drop_keys: Tuple[str, ...] = ()  # processor outputs the model's forward does not take
    media_options: Dict[str, str] = {}  # media size control → processor keyword, for those it has (media_options.py)
    # why this family's rows cannot be packed (--packing / --padding_free); None once pack_media is verified for it
    packing_refusal: Optional[str] = ('packed media rows are verified only for SmolVLM / Idefics2 / Idefics3, '
                                      'LLaVA-1.5 / NeXT / OneVision, InternVL, Pixtral / Mistral-Small-3.1, '
                                      'Qwen2-VL / Qwen2.5-VL / Qwen3-VL and GLM-4V (docs/multimodal.md, "Packing"); '
                                      'this family\'s forward was not tried on rows that hold several samples')

    def process_images(self, processor, images: List[Any], options: Dict[str, Any]) -> Dict[str, Any]:
        """The image processor's outputs for one row's images (tensors with the row as dimension 0)."""
        return dict(processor.image_processor(images, return_tensors='pt', **self.image_kwargs, **options))

    def image_replacement(self, processor, processed: Dict[str, Any], index: int) -> str:
        """The text that stands for image `index` in the token sequence."""
        return processor.replace_image_token(processed, image_idx=index)

    def process_videos(self, processor, videos: List[Tuple[List[Any], Dict[str, Any]]],
                       options: Dict[str, Any]) -> Dict[str, Any]:
        """The processor's outputs for one row's videos, each (PIL frames sampled by FPS / FPS_MAX_FRAMES, metadata
        with fps, duration and the frames' timestamps); a family taking videos overrides it."""
        raise SwiftError(f'{type(self).__name__} does not encode videos')

    def load_video(self, item: Any, options: Dict[str, Any], processor=None):
        """(PIL frames, metadata) of one video (swift.utils.media.load_video); `options`: the media controls this
        family takes (FPS, FPS_MAX_FRAMES, ...). A family with its own frame sampling rule overrides it (its
        processor's settings, where the rule has some, come with `processor`)."""
        return load_video(item, options.get('fps'), options.get('fps_max_frames'))

    def video_replacement(self, processor, processed: Dict[str, Any], index: int) -> str:
        return processor.replace_video_token(processed, video_idx=index)

    def sampling_rate(self, processor) -> int:
        """The audio rate the processor expects (SAMPLING_RATE overrides it, as in ms-swift)."""
        return processor.feature_extractor.sampling_rate

    def process_audios(self, processor, audios: List[Any], sampling_rate: int,
                       options: Dict[str, Any]) -> Dict[str, Any]:
        """The feature extractor's outputs for one row's audios (mono float32 numpy arrays at `sampling_rate`)."""
        raise SwiftError(f'{type(self).__name__} does not encode audio')

    def audio_replacement(self, processor, processed: Dict[str, Any], index: int) -> str:
        return processor.replace_audio_token(processed, audio_idx=index)

    def token_inputs(self, processor, input_ids, media=None) -> Dict[str, Any]:
        """Model inputs laid out like the token batch `input_ids` ([batch, length] tensor, padding included), derived
        from the ids and the batch's media tensors (`media`, collated): Qwen-VL's mm_token_type_ids (which tokens are
        image / video tokens: its 3-D rotary positions need them), Mllama's cross-attention mask. Computed on the
        padded batch, so they follow the collator's padding side."""
        return {}

    def collate(self, key: str, values: List[Any]):
        """One batch tensor from the rows' tensors for `key` (None for a row without media): concatenated along
        dimension 0 by default (LLaVA, Qwen2-VL style: images of all rows in one list)."""
        import torch
        present = [v for v in values if v is not None]
        return torch.cat(present, dim=0) if present else None


    def pack_media(self, key: str, values: List[Any]):
        """One packed row's tensor for `key` from its samples' tensors (None for a sample without media), in the
        samples' order: the model matches media to media tokens in order. By default the samples' tensors are joined
        as a batch joins rows (`collate`: the families that take all of a batch's images in one list); a family
        whose batch has a row dimension (Idefics2/3) overrides it. Called only for families without a
        packing_refusal (Template.pack_media checks)."""
        return self.collate(key, values)


def pad_images(tensors: List[Any], dim: int):
    """Tensors joined along `dim`, each zero-padded to the largest size of every other dimension (images of
    different heights and widths, anyres tile counts; the model reads their real sizes from image_sizes or a pixel
    mask)."""
    if not tensors:
        return None
    shape = [max(t.shape[d] for t in tensors) for d in range(tensors[0].dim())]
    shape[dim] = sum(t.shape[dim] for t in tensors)
    out = tensors[0].new_zeros(shape)
    start = 0
    for tensor in tensors:
        index = [slice(0, n) for n in tensor.shape]
        index[dim] = slice(start, start + tensor.shape[dim])
        out[tuple(index)] = tensor
        start += tensor.shape[dim]
    return out


def pad_rows(values: List[Any]):
    """Per-row media tensors [1, n, ...] (the row's n images first) → [batch, most n, ..., most of each size],
    zero-padded; a row without media is all zeros (Idefics2's pixel_values / pixel_attention_mask, Mllama's
    pixel_values / aspect_ratio_ids / aspect_ratio_mask, as their processors pad a batch)."""
    import torch
    present = [v for v in values if v is not None]
    if not present:
        return None
    shape = [len(values)] + [max(v.shape[d] for v in present) for d in range(1, present[0].dim())]
    batch = torch.zeros(shape, dtype=present[0].dtype)
    for row, value in enumerate(values):
        if value is not None:
            batch[(row, ) + tuple(slice(0, n) for n in value.shape[1:])] = value[0]
    return batch


def processor_of(tokenizer) -> Any:
    info = getattr(tokenizer, 'model_info', None)
    return getattr(info, 'processor', None)


class MultimodalTemplate(Template):
    """A Template whose rows may carry media; subclasses set `plugin`."""
    plugin: MediaPlugin = MediaPlugin()
    grounding: BoxFormat = PLAIN  # how `<ref-object>` / `<bbox>` of grounding rows are written (grounding.py)

    def __init__(self, meta, tokenizer=None, processor=None, media_kwargs: Optional[Dict[str, Any]] = None, **kwargs):
        super().__init__(meta, tokenizer, **kwargs)
        self.processor = processor if processor is not None else processor_of(tokenizer)
        if media_kwargs is None:  # the model's --model_kwargs, kept by the loader (swift/model/loader.py)
            media_kwargs = getattr(getattr(tokenizer, 'model_info', None), 'media_kwargs', None)
        # processor keywords from the media size controls; refused when this family cannot use them. FPS,
        # FPS_MAX_FRAMES and SAMPLING_RATE drive the decoders, so a family taking videos / audio takes them.
        decoded = [name for key in self.plugin.placeholders for name in DECODER_OPTIONS.get(key, ())]
        self.media_kwargs = processor_kwargs(self.name, self.plugin.media_options, media_kwargs, decoded=decoded)
        self.decode_kwargs = {k: v for k, v in requested_media_options(media_kwargs).items() if k in decoded}

    @property
    def is_multimodal(self) -> bool:
        return True

    # ---- rendering: content-part lists become tagged text ----

    def render_segments(self, messages, add_generation_prompt=False, tools=None, enable_thinking=None, **options):
        return super().render_segments([self._tagged(m) for m in messages], add_generation_prompt, tools,
                                       enable_thinking, **options)

    def _tagged(self, message: Dict[str, Any]) -> Dict[str, Any]:
        content = message.get('content') if isinstance(message, dict) else None
        if not isinstance(content, list):
            return message
        text = []
        for part in content:
            kind = part.get('type') if isinstance(part, dict) else None
            if kind == 'text':
                text.append(part.get('text', ''))
            elif kind in _PART_TAGS:
                text.append(self._placeholder(_PART_TAGS[kind]))
            else:
                raise SwiftError(f'template {self.name!r}: unknown content part {describe(part)}')
        return {**message, 'content': ''.join(text)}

    def _placeholder(self, key: str) -> str:
        if key not in self.plugin.placeholders:
            takes = ', '.join(self.plugin.placeholders)
            raise SwiftError(f'template {self.name!r} takes {takes} only, not {key}')
        return self.plugin.placeholders[key]

    # ---- encoding ----

    def encode(self, row: Dict[str, Any], for_inference: bool = False) -> Dict[str, Any]:
        if self.tokenizer is None:
            raise SwiftError(f'template {self.name!r} has no tokenizer: pass tokenizer= to get_template to encode')
        messages = list(row['messages'])
        options = {k: row[k] for k in ('enable_thinking', 'date_string') if row.get(k) is not None}
        if for_inference and messages and messages[-1].get('role') == 'assistant':
            messages = messages[:-1]
        messages = _with_tags([self._tagged(m) for m in messages], row)
        images = _load(row.get('images') or [], 'images', load_image)  # their sizes place grounding boxes
        messages = self.ground(messages, row, [image.size for image in images], prompt_only=for_inference)
        segments = self.render_segments(messages, add_generation_prompt=for_inference, tools=row.get('tools'),
                                        **options)
        if for_inference:
            segments = [Segment(s.text) for s in segments]
        elif self.meta.train_suffix and segments and segments[-1].answer_of is not None:
            segments.append(Segment(self.meta.train_suffix, segments[-1].answer_of))
        model_inputs, replacements = self._process_media(row, images)
        segments, media_chars = self._expand_media(segments, replacements)
        input_ids, labels, media_spans = _tokenize(self.tokenizer, segments, self.loss_scale, media_chars)
        _check_length(self, len(input_ids), media_spans)
        encoded = {'input_ids': input_ids, 'attention_mask': [1] * len(input_ids), 'length': len(input_ids),
                   'media_spans': media_spans, **model_inputs}
        if not for_inference:
            encoded['labels'] = labels
        return encoded

    def _expand_media(self, segments: List[Segment], replacements: Dict[str, List[str]]):
        """(segments with each tag replaced by its item's text, the character span of every replacement); a family
        whose processor also edits the text around an item (Idefics2) overrides it."""
        return _expand(segments, self.plugin.placeholders, replacements, self.name)

    def ground(self, messages: List[Dict[str, Any]], row: Dict[str, Any], image_sizes: Sequence[Tuple[int, int]],
               prompt_only: bool = False) -> List[Dict[str, Any]]:
        """The messages with the row's grounding tags (`<ref-object>`, `<bbox>`) written in this family's format;
        image_sizes: (width, height) of the row's images. Unchanged when the row has no `objects`. prompt_only
        (inference): the answer was cut off, so the prompt's tags take the first objects in order and the rest
        (the answer's boxes) are not used."""
        from swift.utils.grounding import GroundingError, check_objects, check_tag_counts
        if row.get('objects') is None:
            return messages
        try:
            objects = check_objects(row['objects'], list(image_sizes))
            check_tag_counts([m.get('content') or '' for m in messages], objects, at_most=prompt_only)
            resized = []
            if self.grounding.grid == 'resized':
                resized = [qwen_resized_size(size, self.processor, self.media_kwargs) for size in image_sizes]
            return ground_messages(self.grounding, messages, objects, list(image_sizes), resized)
        except GroundingError as e:
            raise SwiftError(f'template {self.name!r}: {e}') from None

    def _process_media(self, row: Dict[str, Any], images: List[Any]) -> Tuple[Dict[str, Any], Dict[str, List[str]]]:
        """(the processor's tensors for the model, the replacement text of each item per media kind)."""
        for key in MEDIA_KEYS:
            if row.get(key) and key not in self.plugin.placeholders:
                self._placeholder(key)  # raises: this family does not take this kind of media
        if not any(row.get(key) for key in MEDIA_KEYS):
            return {}, {}
        if self.processor is None:
            raise SwiftError(f'template {self.name!r}: a row with media needs the model\'s processor; load the '
                             'model with swift (get_model_tokenizer) or pass processor= to the template')
        model_inputs, replacements = {}, {}
        for key, process in (('images', lambda: self._process_images(images)),
                             ('videos', lambda: self._process_videos(row['videos'])),
                             ('audios', lambda: self._process_audios(row['audios']))):
            if not row.get(key):
                continue
            processed, replacements[key] = process()
            inputs = {k: v for k, v in processed.items() if k not in self.plugin.drop_keys}
            clash = sorted(set(inputs) & set(model_inputs))
            if clash:
                raise SwiftError(f'template {self.name!r}: a row with both {" and ".join(replacements)} is not '
                                 f'supported (both give the model {", ".join(clash)}); put them in separate rows')
            model_inputs.update(inputs)
        return model_inputs, replacements

    def _process_images(self, loaded: List[Any]):
        processed = self.plugin.process_images(self.processor, loaded, dict(self.media_kwargs))
        return processed, [self.plugin.image_replacement(self.processor, processed, i) for i in range(len(loaded))]

    def _process_videos(self, items: List[Any]):
        options = {**self.decode_kwargs, **self.media_kwargs}
        loaded = _load(items, 'videos', lambda item: self.plugin.load_video(item, options, self.processor))
        processed = self.plugin.process_videos(self.processor, loaded, dict(self.media_kwargs))
        return processed, [self.plugin.video_replacement(self.processor, processed, i) for i in range(len(loaded))]

    def _process_audios(self, items: List[Any]):
        rate = self.decode_kwargs.get('sampling_rate') or self.plugin.sampling_rate(self.processor)
        loaded = _load(items, 'audios', lambda item: load_audio(item, rate)[0])
        processed = self.plugin.process_audios(self.processor, loaded, rate, dict(self.media_kwargs))
        return processed, [self.plugin.audio_replacement(self.processor, processed, i) for i in range(len(loaded))]

    def model_media_inputs(self, encoded: Dict[str, Any]) -> Dict[str, Any]:
        """The media tensors of one encoded row (pixel_values, ...): what the model's forward takes besides tokens."""
        return {k: v for k, v in encoded.items() if k not in NOT_MODEL_INPUTS}

    def token_inputs(self, input_ids, media=None) -> Dict[str, Any]:
        """The plugin's token-level inputs for a [batch, length] tensor of ids and the batch's media tensors
        (MediaPlugin.token_inputs)."""
        return self.plugin.token_inputs(self.processor, input_ids, media)

    def check_packing(self) -> None:
        """Refuse --packing / --padding_free for a family whose forward was not verified on packed media rows."""
        if self.plugin.packing_refusal:
            raise SwiftError(f'--packing / --padding_free with template {self.name!r}: {self.plugin.packing_refusal}. '
                             'Train without them.')

    def pack_media(self, samples: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        """The media tensors of one packed row (the samples of a pack, or a whole padding-free batch), shaped like
        one sample's so that collate_media batches packed rows as it batches samples."""
        self.check_packing()
        keys = []
        for sample in samples:
            keys += [k for k in sample if k not in NOT_MODEL_INPUTS and k not in keys]
        merged = {key: self.plugin.pack_media(key, [s.get(key) for s in samples]) for key in keys}
        return {key: value for key, value in merged.items() if value is not None}

    def collate_media(self, features: Sequence[Dict[str, Any]], input_ids=None) -> Dict[str, Any]:
        """The media tensors of a batch (added to the token batch a collator builds); with the batch's padded
        `input_ids`, also the plugin's token-level inputs when the batch has media."""
        keys = []
        for feature in features:
            keys += [k for k in feature if k not in NOT_MODEL_INPUTS and k not in keys]
        batch = {}
        for key in keys:
            value = self.plugin.collate(key, [f.get(key) for f in features])
            if value is not None:
                batch[key] = value
        if batch and input_ids is not None:
            batch.update(self.token_inputs(input_ids, batch))
        return batch


def _load(items: List[Any], key: str, load) -> List[Any]:
    """Each item decoded; a failure names the item (`videos[1]: ...`), the caller adds the row."""
    loaded = []
    for i, item in enumerate(items):
        try:
            loaded.append(load(item))
        except MediaError as e:
            raise SwiftError(f'{key}[{i}]: {e}') from None
    return loaded


def _with_tags(messages: List[Dict[str, Any]], row: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Media without a single tag of their kind get theirs in front of the first user turn (as the data layer
    does for dataset rows; requests from Python or a server come here directly)."""
    for key, tag in ROW_TAGS.items():
        count = len(row.get(key) or [])
        if not count or any(tag in (m.get('content') or '') for m in messages):
            continue
        first_user = next((i for i, m in enumerate(messages) if m.get('role') == 'user'), None)
        if first_user is None:
            raise SwiftError(f'the row has {count} {key} but no user turn to put them in')
        message = messages[first_user]
        messages = messages[:first_user] + [{**message, 'content': tag * count + (message.get('content') or '')}] \
            + messages[first_user + 1:]
    return messages


def _expand(segments: List[Segment], placeholders: Dict[str, str], replacements: Dict[str, List[str]],
            name: str) -> Tuple[List[Segment], List[Tuple[int, int]]]:
    """Segments with each placeholder replaced by its item's text (as an untrained segment of its own), and the
    character span of every replacement."""
    by_tag = {tag: key for key, tag in placeholders.items()}
    pattern = re.compile('|'.join(re.escape(t) for t in sorted(by_tag, key=len, reverse=True)))
    used = {key: 0 for key in placeholders}
    out, spans, position = [], [], 0
    for segment in segments:
        last = 0
        for match in pattern.finditer(segment.text):
            key = by_tag[match.group(0)]
            items = replacements.get(key, [])
            if used[key] >= len(items):
                raise SwiftError(f'template {name!r}: the text has more {match.group(0)} tags than the row has '
                                 f'{key} ({len(items)})')
            before = segment.text[last:match.start()]
            if before:
                out.append(Segment(before, segment.answer_of))
                position += len(before)
            text = items[used[key]]
            used[key] += 1
            out.append(Segment(text))
            spans.append((position, position + len(text)))
            position += len(text)
            last = match.end()
        rest = segment.text[last:]
        if rest:
            out.append(Segment(rest, segment.answer_of))
            position += len(rest)
    for key, items in replacements.items():
        if used[key] != len(items):
            raise SwiftError(f'template {name!r}: the row has {len(items)} {key} but the rendered text has '
                             f'{used[key]} {placeholders[key]} tags')
    return out, spans


def _tokenize(tokenizer, segments: List[Segment], loss_scale: str,
              media_chars: List[Tuple[int, int]]) -> Tuple[List[int], List[int], List[List[int]]]:
    """(input_ids, labels, token spans [start, end) of each media expansion); needs a fast tokenizer (offsets)."""
    if not getattr(tokenizer, 'is_fast', False):
        raise SwiftError('multimodal encoding needs a fast tokenizer (character offsets) to place media tokens')
    text = ''.join(s.text for s in segments)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    input_ids, offsets = list(encoded['input_ids']), encoded['offset_mapping']
    spans = trained_spans(segments, loss_scale)
    starts = [start for start, _ in spans]
    media_starts = [start for start, _ in media_chars]
    labels = []
    media_tokens: List[List[int]] = [[] for _ in media_chars]
    for index, (token_id, (start, _)) in enumerate(zip(input_ids, offsets)):
        m = bisect.bisect_right(media_starts, start) - 1
        if m >= 0 and start < media_chars[m][1]:
            media_tokens[m].append(index)
            labels.append(IGNORE_INDEX)
            continue
        k = bisect.bisect_right(starts, start) - 1
        labels.append(token_id if k >= 0 and start < spans[k][1] else IGNORE_INDEX)
    media_spans = [[tokens[0], tokens[-1] + 1] for tokens in media_tokens if tokens]
    return input_ids, labels, media_spans


def _check_length(template, length: int, media_spans: List[List[int]]) -> None:
    """A template with max_length (inference) refuses a row that does not fit rather than cut its media."""
    max_length = template.max_length
    if max_length is not None and length > max_length:
        raise MaxLengthError(f'encoded length {length} (media tokens included) exceeds max_length {max_length}; '
                             'a row with media is never truncated: raise --max_length or shorten the text')

