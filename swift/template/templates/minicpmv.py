"""MiniCPM-V 4.6 / 4.7 (transformers' MiniCPMV4_6 / MiniCPMV4_7ForConditionalGeneration) and 2.6 (remote code).

MiniCPM-V 4.6: ChatML with Qwen3's think blocks (its LM is Qwen3.5), each image written `<|image_pad|>\\n` where the
row has it, as ms-swift's `minicpmv4_6` template writes it (swift/template/templates/minicpm.py, checked there
against the checkpoint's Jinja by tests/test_align/test_template/test_vision.py::test_minicpmv4_6). No copy of the
official chat_template.jinja was available here to compare with (swift/template/official.py says so).
MiniCPMV4_6Processor expands each `<|image_pad|>` into `<image_id>i</image_id><image>` + pads + `</image>` and the
slices' `<slice>` + pads + `</slice>` rows (i: the image's index in its row); its pixel values are NaViT-packed:
one [1, 3, patch, L] tensor per row, every image's patches along the last dimension, target_sizes one (h, w) per
image and slice. MiniCPM-V 4.7 renders and expands as 4.6 (no template of its own here either) and adds
mm_token_type_ids, from which its canvas M-RoPE positions are computed.

MiniCPM-V 2.6: ChatML with `(<image>./</image>)\\n` per image (its model card's format); the expansion needs the
checkpoint's own processor (remote code, swift/model/remote_code.py).
"""
from swift.utils import SwiftError

from ..media import MediaPlugin
from ..registry import register_template
from .chatml import chatml_meta
from .qwen import QWEN_STOP_WORDS, Qwen3Template
from .vlm_common import TaggedTemplate


class MiniCPMV46Plugin(MediaPlugin):
    """Images through MiniCPM-V 4.6's PIL image processor (swift/model/image_only_processor.py): each image resized
    to multiples of 4 patches around scale_resolution and, when larger, cut into up to max_slice_nums slices
    (MAX_SLICE_NUMS, as ms-swift's template reads it); its token counts are
    MiniCPMV4_6Processor.replace_image_token's."""
    placeholders = {'images': '<|image_pad|>'}
    media_options = {'max_slice_nums': 'max_slice_nums'}
    drop_keys = ('grids', 'num_patches_per_image')  # read by replace_image_token, not by the model

    def image_replacement(self, processor, processed, index):
        text = processor.replace_image_token(processed, image_idx=index,
                                             image_token_divisor=processor.image_token_divisor)
        if processor.default_use_image_id:  # MiniCPMV4_6Processor._prepend_local_ids: the index within the sample
            text = f'{processor.image_id_start_token}{index}{processor.image_id_end_token}{text}'
        return text

    def collate(self, key, values):
        """NaViT packing, as the processor packs a batch: pixel values of all rows along the last dimension,
        target_sizes one after another (the model cuts the sequence by them, in the order of the image tokens)."""
        import torch
        present = [v for v in values if v is not None]
        if not present:
            return None
        return torch.cat(present, dim=-1 if key == 'pixel_values' else 0)


class MiniCPMV46Template(TaggedTemplate, Qwen3Template):
    """Qwen3's rendering (system block only when given; enable_thinking=False closes an empty think block in the
    generation prompt; the last answer carries its think block) with the images in place."""
    plugin = MiniCPMV46Plugin()
    render_tags = {'images': '<|image_pad|>\n'}


class MiniCPMV47Plugin(MiniCPMV46Plugin):
    """MiniCPM-V 4.7: 4.6's images, and mm_token_type_ids (1 on image tokens) for its canvas M-RoPE positions, as
    MiniCPMV4_7Processor returns them (ProcessorMixin.create_mm_token_type_ids)."""

    def token_inputs(self, processor, input_ids, media=None):
        import torch
        return {'mm_token_type_ids': torch.tensor(processor.create_mm_token_type_ids(input_ids))}


class MiniCPMV47Template(MiniCPMV46Template):
    plugin = MiniCPMV47Plugin()


class MiniCPMV26Plugin(MediaPlugin):
    """MiniCPM-V 2.6 through its remote-code processor (MiniCPMVImageProcessor, loaded with --trust_remote_code), as
    ms-swift's MiniCPMV2_6Template drives it: `preprocess([images], max_slice_nums=...)` cuts each image into
    slices (pixel_values: per row a list of [3, patch, L] slices; tgt_sizes: per row [slices, 2]),
    `get_slice_image_placeholder(size, image_idx=i, max_slice_nums=..., use_image_id=True)` writes its
    `<image_id>i</image_id><image>` + `<unk>` x query_num + `</image>` and `<slice>…</slice>` markup, and the model
    scatters the resampled queries into the `<unk>` runs that image_bound lists."""
    placeholders = {'images': '(<image>./</image>)'}
    media_options = {'max_slice_nums': 'max_slice_nums'}
    drop_keys = ('image_sizes', 'max_slice_nums')  # read by image_replacement only

    def process_images(self, processor, images, options):
        check_remote_processor(processor)
        max_slice_nums = options.get('max_slice_nums', processor.image_processor.max_slice_nums)
        processed = dict(processor.image_processor([images], return_tensors='pt', max_slice_nums=max_slice_nums))
        return {**processed, 'max_slice_nums': max_slice_nums}

    def image_replacement(self, processor, processed, index):
        return processor.image_processor.get_slice_image_placeholder(
            processed['image_sizes'][0][index], image_idx=index, max_slice_nums=processed['max_slice_nums'],
            use_image_id=True)

    def token_inputs(self, processor, input_ids, media=None):
        """image_bound per row: the [start, end) runs of `<unk>` (the slots of the resampled image queries)."""
        if not media:
            return {}
        unk = processor.tokenizer.convert_tokens_to_ids('<unk>')
        return {'image_bound': [unk_runs(row.tolist(), unk) for row in input_ids]}

    def collate(self, key, values):
        """The remote model reads one entry per row (pixel_values[row] = its slices, tgt_sizes[row]), an empty list
        for a row without images (as ms-swift's gather_list leaves it)."""
        if all(v is None for v in values):
            return None
        return [item for value in values for item in (value if value is not None else [[]])]


def check_remote_processor(processor) -> None:
    """MiniCPM-V 2.6 encodes images only through its own processor's API (remote code)."""
    image_processor = getattr(processor, 'image_processor', None)
    if not hasattr(image_processor, 'get_slice_image_placeholder'):
        raise SwiftError('MiniCPM-V 2.6 (minicpmv2_6) images need the checkpoint\'s own processor '
                         '(MiniCPMVImageProcessor, remote code): load the model with --trust_remote_code true '
                         'from a directory that ships it (preprocessor_config.json auto_map)')


def unk_runs(ids, unk: int):
    """[[start, end), ...] of the runs of `unk` in ids, as ms-swift's MiniCPMV2_6Template computes image_bound."""
    import torch
    runs, start = [], None
    for position, token in enumerate(list(ids) + [None]):
        if token == unk and start is None:
            start = position
        elif token != unk and start is not None:
            runs.append([start, position])
            start = None
    return torch.tensor(runs, dtype=torch.long).reshape(-1, 2)


class MiniCPMV26Template(TaggedTemplate):
    """MiniCPM-V 2.6: ChatML with `(<image>./</image>)\\n` per image (its model card's format)."""
    plugin = MiniCPMV26Plugin()
    render_tags = {'images': '(<image>./</image>)\n'}


register_template(chatml_meta('minicpmv4_6', stop_words=QWEN_STOP_WORDS, template_cls=MiniCPMV46Template,
                              description='MiniCPM-V 4.6 (Qwen3.5 LM), images'))
register_template(chatml_meta('minicpmv4_7', stop_words=QWEN_STOP_WORDS, template_cls=MiniCPMV47Template,
                              description='MiniCPM-V 4.7 (Qwen3.5 LM, canvas M-RoPE), images'))
register_template(chatml_meta('minicpmv2_6', stop_words=['<|im_end|>', '<|endoftext|>'],
                              template_cls=MiniCPMV26Template,
                              description='MiniCPM-V 2.6, images (encoding needs its remote-code processor)'))
