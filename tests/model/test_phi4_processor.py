"""swift's torchvision-free Phi-4-multimodal image processor gives what transformers' own Phi4MultimodalImageProcessor
gives, run end to end in a subprocess.

torchvision cannot be installed here, and transformers' class runs only with it. The subprocess puts a stand-in
`torchvision` package first on its path with the few kernels transformers calls (`resize`, `pad`, `normalize`, ...)
transcribed from torchvision's own source (transforms/v2/functional/_geometry.py, _color.py, _misc.py): so the
real class's whole pipeline runs — its crop grid and closest-ratio search, padding, masks, normalisation, global
view, token counts and batching — and only those kernels are not torchvision's binaries. Our module calls torch
for them directly, in its own code; equality of every output is asserted.
"""
import json
import subprocess
import sys
import textwrap

KERNELS = '''
import enum
import torch
from torch.nn.functional import interpolate


class InterpolationMode(enum.Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _native_uint8(interpolation):  # torchvision's _do_native_uint8_resize_on_cpu
    if interpolation == InterpolationMode.BILINEAR:
        return "AVX2" in torch.backends.cpu.get_cpu_capability()
    return interpolation == InterpolationMode.BICUBIC


def resize(image, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    # torchvision's resize_image for a CPU tensor and an explicit [height, width]
    if interpolation not in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        antialias = False
    shape = image.shape
    channels, old_height, old_width = shape[-3:]
    new_height, new_width = size
    if (new_height, new_width) == (old_height, old_width):
        return image
    dtype = image.dtype
    acceptable = [torch.float32, torch.float64] + ([torch.uint8] if _native_uint8(interpolation) else [])
    image = image.reshape(-1, channels, old_height, old_width)
    need_cast = dtype not in acceptable
    if need_cast:
        image = image.to(dtype=torch.float32)
    image = interpolate(image, size=[new_height, new_width], mode=interpolation.value, align_corners=False,
                        antialias=antialias)
    if need_cast:
        if interpolation == InterpolationMode.BICUBIC and dtype == torch.uint8:
            image = image.clamp_(min=0, max=255)
        if dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
            image = image.round_()
        image = image.to(dtype=dtype)
    return image.reshape(shape[:-3] + (channels, new_height, new_width))


def pad(image, padding, fill=None, padding_mode="constant"):
    # torchvision's pad_image, constant mode: [left, top, right, bottom]; a per-channel fill is written channel-wise
    left, top, right, bottom = (list(padding) * 4)[:4] if len(padding) == 1 else (
        padding * 2 if len(padding) == 2 else padding)
    fill = 0 if fill is None else fill
    if isinstance(fill, (int, float)) or len(fill) == 1:
        value = fill if isinstance(fill, (int, float)) else fill[0]
        return torch.nn.functional.pad(image, [left, right, top, bottom], mode="constant", value=float(value))
    out = torch.nn.functional.pad(image, [left, right, top, bottom], mode="constant", value=0.0)
    height, width = image.shape[-2:]
    region = torch.ones(out.shape[-2:], dtype=torch.bool)
    region[top:top + height, left:left + width] = False
    values = torch.tensor(fill, dtype=out.dtype).view(-1, 1, 1).expand_as(out)
    return torch.where(region, values, out)


def normalize(image, mean, std, inplace=False):
    # torchvision's normalize_image
    mean = torch.as_tensor(mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
    image = image.sub_(mean) if inplace else image.sub(mean)
    return image.div_(std)


def grayscale_to_rgb(image):
    return image.repeat(1, 3, 1, 1) if image.shape[-3] == 1 else image
'''

SCRIPT = '''
import json, sys
import numpy as np, torch
from PIL import Image
from transformers.models.phi4_multimodal.image_processing_phi4_multimodal import Phi4MultimodalImageProcessor
from swift.model.phi4_processor import Phi4MultimodalImageProcessorPil

def noise(w, h):
    return Image.fromarray(np.random.RandomState(w * h).randint(0, 256, (h, w, 3), dtype=np.uint8))

cases = [([noise(40, 30), noise(30, 200).convert("L")], {}), ([noise(500, 460)], {}), ([noise(1000, 300)], {"dynamic_hd": 2})]
report = []
for images, kwargs in cases:
    ours = Phi4MultimodalImageProcessorPil()(images, return_tensors="pt", **kwargs)
    theirs = Phi4MultimodalImageProcessor()(images, return_tensors="pt", **kwargs)
    assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
    report.append({k: bool(torch.equal(torch.as_tensor(ours[k]), torch.as_tensor(theirs[k]))) for k in ours}
                  | {"tokens": torch.as_tensor(theirs["num_img_tokens"]).tolist(),
                     "crops": list(theirs["image_pixel_values"].shape[:2])})
print(json.dumps(report))
'''


def _stand_in(root):
    package = root / 'torchvision'
    (package / 'transforms' / 'v2').mkdir(parents=True)
    (package / '__init__.py').write_text('__version__ = "0.25.0"\nfrom . import io\n')
    (package / 'io.py').write_text('')  # video_utils imports it; no video is read here
    (package / 'transforms' / 'v2' / 'functional.py').write_text(KERNELS)
    (package / 'transforms' / 'v2' / '__init__.py').write_text('from . import functional\n')
    (package / 'transforms' / '__init__.py').write_text('from .v2.functional import InterpolationMode\n')
    (package / 'transforms' / 'functional.py').write_text(
        'import numpy as np, torch\n\ndef pil_to_tensor(image):\n'
        '    return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()\n')
    info = root / 'torchvision-0.25.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: torchvision\nVersion: 0.25.0\n')


def test_equals_transformers_phi4_image_processor(tmp_path):
    import os
    _stand_in(tmp_path)
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), os.getcwd()]), 'OMP_NUM_THREADS': '1'}
    done = subprocess.run([sys.executable, '-c', textwrap.dedent(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    keys = ('image_pixel_values', 'image_sizes', 'image_attention_mask', 'num_img_tokens')
    assert [[case[k] for k in keys] for case in report] == [[True] * 4] * len(report), report
    # the cases reach what they are for: a padded batch of two (one grey), 2x2 crops, the closest ratio within 2
    assert [case['crops'] for case in report] == [[2, 2], [1, 5], [1, 3]], report
