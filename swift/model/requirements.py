"""ModelMeta.requires checked against the installed packages, before a model is loaded.

A family declares what its checkpoints need as PEP 508 requirements (`transformers<4.42` for
ChatGLM3's remote code, `tiktoken` for Phi-3-small's tokenizer). Without the check a mismatch shows
up only after the download, as an error from inside the model's or tokenizer's own code; with it the
user gets one line naming the package, the installed version and the pip command.
"""
from importlib import metadata
from typing import List, Optional, Tuple

from packaging.requirements import Requirement

from swift.utils import SwiftError
from .registry import ModelMeta


def unmet_requirements(requires: List[str]) -> List[Tuple[str, Optional[str]]]:
    """(requirement, installed version or None when not installed) for each of `requires` not satisfied here.

    Installed pre-releases count (a transformers dev build satisfies `transformers>=4.37`); a requirement
    whose environment marker does not apply here (`; python_version < "3.14"`) is skipped.
    """
    unmet = []
    for text in requires:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        installed = _installed_version(requirement.name)
        if installed is None or not requirement.specifier.contains(installed, prereleases=True):
            unmet.append((text, installed))
    return unmet


def check_requirements(meta: ModelMeta) -> None:
    """Raise a one-line SwiftError naming each unmet requirement of `meta` and the pip command that meets them."""
    unmet = unmet_requirements(meta.requires)
    if not unmet:
        return
    found = '; '.join(f'{text} ({"not installed" if installed is None else f"installed: {installed}"})'
                      for text, installed in unmet)
    command = 'pip install ' + ' '.join(f'"{text}"' for text, _ in unmet)
    raise SwiftError(f'model type {meta.model_type!r} requires {found}: run `{command}` to load it')


def _installed_version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
