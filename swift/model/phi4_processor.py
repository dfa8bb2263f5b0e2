"""Phi-4-multimodal's processor without torchvision.

transformers 5 ships Phi-4-multimodal natively (models/phi4_multimodal), but its only image processor,
`Phi4MultimodalImageProcessor`, is a TorchvisionBackend: its module imports torchvision, which cannot be used on
this machine (see image_only_processor.py), so `AutoProcessor` cannot load the model here. Its processor
(`Phi4MultimodalProcessor`: `<|image|>` x num_img_tokens, `<|audio|>` x audio_embed_sizes) and the audio feature
extractor (torch only) need none of it.

`Phi4MultimodalImageProcessorPil` below is the same image processor on transformers' PIL backend: the HD crop
grid, the white padding, the masks and the token count are transcribed from `Phi4MultimodalImageProcessor`
(transformers 5.24), and its two torchvision calls are the torch operations torchvision runs for them
(`resize_image` in torchvision/transforms/v2/functional/_geometry.py: `interpolate`, natively on uint8 where
torchvision does so on a CPU, through float32 and rounding elsewhere; `pad` with a constant white fill).
`Phi4Processor` is transformers' `Phi4MultimodalProcessor` built with it; it saves as transformers' does
(processor_config.json naming Phi4MultimodalProcessor), so AutoProcessor loads a saved directory where
torchvision is installed, and `from_pretrained` here reads both layouts (a released checkpoint's
preprocessor_config.json too).
"""
import inspect
import json
import math
from pathlib import Path

import numpy as np
import transformers
from transformers.image_processing_backends import PilBackend
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import PILImageResampling
from transformers.processing_utils import ImagesKwargs

IMAGE_KEYS = ('size', 'patch_size', 'dynamic_hd', 'image_mean', 'image_std', 'do_rescale', 'rescale_factor',
              'do_normalize', 'do_convert_rgb', 'resample')


def _uint8_bilinear_natively() -> bool:
    """Whether torchvision resizes uint8 bilinear without casting on this CPU (its _do_native_uint8_resize_on_cpu)."""
    import torch
    return 'AVX2' in torch.backends.cpu.get_cpu_capability()


def resize_uint8(image, height: int, width: int):
    """torchvision.transforms.v2.functional.resize(image, [height, width]) of a uint8 CHW tensor on the CPU
    (bilinear, antialias)."""
    import torch
    if tuple(image.shape[-2:]) == (height, width):
        return image
    batch = image[None]
    if _uint8_bilinear_natively():
        return torch.nn.functional.interpolate(batch, size=[height, width], mode='bilinear', align_corners=False,
                                               antialias=True)[0]
    out = torch.nn.functional.interpolate(batch.float(), size=[height, width], mode='bilinear', align_corners=False,
                                          antialias=True)
    return out.round_().to(torch.uint8)[0]


def resize_float_bicubic(image, height: int, width: int):
    """torchvision's resize of a float CHW tensor, bicubic without antialias (the global view)."""
    import torch
    if tuple(image.shape[-2:]) == (height, width):
        return image
    return torch.nn.functional.interpolate(image[None], size=[height, width], mode='bicubic', align_corners=False,
                                           antialias=False)[0]


class Phi4ImagesKwargs(ImagesKwargs, total=False):
    """Phi4MultimodalImageProcessorKwargs (its module imports torchvision): the patch size, the most crops."""
    patch_size: int
    dynamic_hd: int


class Phi4MultimodalImageProcessorPil(PilBackend):
    """Phi4MultimodalImageProcessor's arithmetic on the PIL backend (see the module docstring)."""
    resample = PILImageResampling.BICUBIC
    size = {'height': 448, 'width': 448}
    patch_size = 14
    dynamic_hd = 36
    image_mean = [0.5, 0.5, 0.5]
    image_std = [0.5, 0.5, 0.5]
    do_rescale = True
    do_normalize = True
    do_convert_rgb = True
    valid_kwargs = Phi4ImagesKwargs
    model_input_names = ['image_pixel_values', 'image_sizes', 'image_attention_mask']

    @staticmethod
    def find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
        best_ratio_diff, best_ratio, area = float('inf'), (1, 1), width * height
        for ratio in target_ratios:
            ratio_diff = abs(aspect_ratio - ratio[0] / ratio[1])
            if ratio_diff < best_ratio_diff:
                best_ratio_diff, best_ratio = ratio_diff, ratio
            elif ratio_diff == best_ratio_diff and area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
                best_ratio = ratio
        return best_ratio

    def crop_grid(self, height: int, width: int, image_size: int, max_num: int):
        """(crops across, crops down): one crop per image_size started, or the closest ratio within max_num."""
        w_crop_num, h_crop_num = math.ceil(width / float(image_size)), math.ceil(height / float(image_size))
        if w_crop_num * h_crop_num <= max_num:
            return w_crop_num, h_crop_num
        ratios = sorted({(i, j) for n in range(1, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
                         if 1 <= i * j <= max_num}, key=lambda x: x[0] * x[1])
        return self.find_closest_aspect_ratio(width / height, ratios, width, height, image_size)

    def dynamic_preprocess(self, image, image_size: int, patch_size: int, mask_size: int, max_num: int = 36):
        """The image resized into its crop grid (aspect kept, white padding right / bottom) and the patch mask."""
        import torch
        orig_height, orig_width = image.shape[-2:]
        ratio = self.crop_grid(orig_height, orig_width, image_size, max_num)
        target_width, target_height = image_size * ratio[0], image_size * ratio[1]
        if target_width / orig_width < target_height / orig_height:
            new_size = (target_width, int(orig_height * (target_width / orig_width)))
            padding_width, padding_height = 0, target_height - new_size[1]
        else:
            new_size = (int(orig_width * (target_height / orig_height)), target_height)
            padding_width, padding_height = target_width - new_size[0], 0
        attention_mask = torch.ones((int(mask_size * ratio[1]), int(mask_size * ratio[0])))
        if padding_width >= patch_size:
            attention_mask[:, -math.floor(padding_width / patch_size):] = 0
        if padding_height >= patch_size:
            attention_mask[-math.floor(padding_height / patch_size):, :] = 0
        if min(new_size[1], target_height) < 10 or min(new_size[0], target_width) < 10:
            raise ValueError(f'the aspect ratio is very extreme {new_size}')
        image = resize_uint8(image, new_size[1], new_size[0])
        image = torch.nn.functional.pad(image, [0, padding_width, 0, padding_height], value=255)
        return image, attention_mask

    def _preprocess(self, images, do_resize, size, resample, do_rescale, rescale_factor, do_normalize, image_mean,
                    image_std, patch_size, dynamic_hd, return_tensors, **kwargs):
        import torch
        if size.height != size.width:
            raise ValueError('Phi4MultimodalImageProcessor only supports square sizes.')
        mask_size = size.height // patch_size
        # rescale and normalize fused as TorchvisionBackend does: (x - mean * (1 / factor)) / (std * (1 / factor))
        mean, std = torch.tensor(image_mean), torch.tensor(image_std)
        if do_rescale and do_normalize:
            mean, std = mean * (1.0 / rescale_factor), std * (1.0 / rescale_factor)
        pixels, masks, tokens, sizes = [], [], [], []
        for image in images:
            image = torch.from_numpy(np.ascontiguousarray(image))
            resized, attention_mask = self.dynamic_preprocess(image, size.height, patch_size, mask_size, dynamic_hd)
            processed = resized.to(torch.float32)
            if do_normalize:
                processed = processed.sub_(mean[:, None, None]).div_(std[:, None, None])
            elif do_rescale:
                processed = processed * rescale_factor
            global_image = resize_float_bicubic(processed, size.height, size.width)
            height, width = processed.shape[-2:]
            mask_height, mask_width = attention_mask.shape[-2:]
            crops = processed.reshape(1, 3, height // size.height, size.height, width // size.width, size.width)
            crops = crops.permute(0, 2, 4, 1, 3, 5).reshape(-1, 3, size.height, size.width).contiguous()
            crop_masks = attention_mask.reshape(mask_height // mask_size, mask_size, mask_width // mask_size,
                                                mask_size).transpose(1, 2).reshape(-1, mask_size, mask_size)
            tokens.append(self.num_img_tokens(crop_masks, mask_height // mask_size, mask_width // mask_size,
                                              mask_size))
            pixels.append(torch.cat([global_image[None], crops], dim=0))
            masks.append(torch.cat([torch.ones((1, mask_size, mask_size)), crop_masks], dim=0))
            sizes.append([height, width])
        most = max(p.size(0) for p in pixels)
        pixels = [torch.cat([p, p.new_zeros(most - p.size(0), *p.shape[1:])]) for p in pixels]
        masks = [torch.cat([m, m.new_ones(most - m.size(0), *m.shape[1:])]) for m in masks]
        data = {'image_pixel_values': torch.stack(pixels), 'image_sizes': torch.tensor(sizes, dtype=torch.long),
                'image_attention_mask': torch.stack(masks), 'num_img_tokens': tokens}
        return BatchFeature(data=data, tensor_type=return_tensors)

    @staticmethod
    def num_img_tokens(crop_masks, rows: int, columns: int, mask_size: int) -> int:
        """256 global features + 16 row separators, 1 separator, and the 2x2-pooled real patches of the crops with
        one separator per pooled row (the image embedding's layout; 256/16 assume 448-pixel crops of 14)."""
        half = mask_size // 2 + mask_size % 2
        pooled = crop_masks[:, 0::2, 0::2].reshape(rows, columns, half, half).transpose(1, 2)
        pooled = pooled.reshape(rows * half, columns * half)
        return 256 + 1 + int(pooled.sum().item()) + int(pooled[:, 0].sum().item()) + 16


class Phi4Processor(transformers.Phi4MultimodalProcessor):
    """transformers' Phi4MultimodalProcessor with the PIL image processor above."""

    @classmethod
    def from_pretrained(cls, model_dir, trust_remote_code: bool = False, **kwargs) -> 'Phi4Processor':
        """From processor_config.json (transformers 5's layout: one entry per part) or, as released checkpoints
        carry it, preprocessor_config.json holding the image and audio keys side by side."""
        model_dir = Path(model_dir)
        settings = {}
        for name in ('preprocessor_config.json', 'processor_config.json'):
            if (model_dir / name).is_file():
                settings.update(json.loads((model_dir / name).read_text()))
        image = settings.get('image_processor', settings)
        audio = settings.get('audio_processor', settings)
        image_processor = Phi4MultimodalImageProcessorPil(**{k: v for k, v in image.items() if k in IMAGE_KEYS})
        audio_keys = set(inspect.signature(transformers.Phi4MultimodalFeatureExtractor.__init__).parameters) - {'self'}
        feature_extractor = transformers.Phi4MultimodalFeatureExtractor(
            **{k: v for k, v in audio.items() if k in audio_keys})
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), **kwargs)
        return cls(image_processor, feature_extractor, tokenizer, chat_template=getattr(tokenizer, 'chat_template',
                                                                                         None))

    def save_pretrained(self, save_directory, **kwargs):
        """transformers' layout, the image processor named as transformers' own class (AutoProcessor then loads it
        where torchvision is installed)."""
        out = super().save_pretrained(save_directory, **kwargs)
        path = Path(save_directory) / 'processor_config.json'
        if path.is_file():
            from swift.utils import atomic_write_text
            config = json.loads(path.read_text())
            if isinstance(config.get('image_processor'), dict):
                config['image_processor']['image_processor_type'] = 'Phi4MultimodalImageProcessor'
            config['processor_class'] = 'Phi4MultimodalProcessor'
            atomic_write_text(path, json.dumps(config, indent=2, sort_keys=True) + '\n')
        return out
