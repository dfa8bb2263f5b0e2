"""Where a training run writes: output/<model>/vN-YYYYMMDD-HHMMSS/ (or --output_dir as given)."""
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Optional

from swift.utils import SwiftError


def model_folder_name(model: str) -> str:
    """'Qwen/Qwen2.5-7B-Instruct' → 'Qwen2.5-7B-Instruct'; a local path → its last component."""
    return Path(model.rstrip('/')).name or 'model'


def next_version_dir(root: Path) -> Path:
    """root/vN-YYYYMMDD-HHMMSS with N one more than the largest existing version."""
    versions = [int(m.group(1)) for p in (root.iterdir() if root.is_dir() else [])
                if (m := re.match(r'v(\d+)-', p.name))]
    stamp = datetime.now().strftime('%Y%m%d-%H%M%S')
    return root / f'v{max(versions, default=-1) + 1}-{stamp}'


def resolve_output_dir(output_dir: Optional[str], model: str, add_version: bool,
                       resume_from_checkpoint: Optional[str]) -> Path:
    if resume_from_checkpoint:
        checkpoint = Path(resume_from_checkpoint)
        if not checkpoint.is_dir():
            raise SwiftError(f'--resume_from_checkpoint: {checkpoint} is not a directory')
        return checkpoint.resolve().parent  # the same run continues where it stopped
    root = Path(output_dir) if output_dir else Path('output') / model_folder_name(model)
    path = next_version_dir(root) if add_version else root
    os.makedirs(path, exist_ok=True)
    return path.resolve()


def last_checkpoint(output_dir: Path) -> Optional[Path]:
    checkpoints = [p for p in output_dir.glob('checkpoint-*') if p.name.split('-')[-1].isdigit()]
    return max(checkpoints, key=lambda p: int(p.name.split('-')[-1]), default=None)
