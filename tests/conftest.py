"""Shared fixtures: paths to ../shared, the embedded real model, a tiny random model.

`make test` runs the suite on pytest-xdist workers (docs/testing.md): session fixtures that build something go
through tests/helpers/build_once.py, and tests of one module, or of one XDIST_GROUPS group, run on one worker.
"""
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / '..' / 'shared').resolve()
sys.path.insert(0, str(REPO))
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

from tests.helpers.build_once import build_once  # noqa: E402  (needs REPO on sys.path)


def _worker_threads() -> None:
    """An xdist worker gets its share of the cores for torch (set before torch is imported, and inherited by the
    subprocesses tests start): 2 workers with 2 threads each on 2 cores spin-wait on each other in OpenMP."""
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT')
    if not os.environ.get('PYTEST_XDIST_WORKER') or not workers:
        return
    threads = str(max(1, (os.cpu_count() or 1) // int(workers)))
    os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = threads
    if 'torch' in sys.modules:
        sys.modules['torch'].set_num_threads(int(threads))


_worker_threads()

# Modules whose tests share one xdist worker, so that they do not run at the same time on the other: each of them
# starts 2-process torchrun jobs (two at once would put 4 busy processes on 2 cores and slow both past their
# timeouts), or drives a browser / terminal against a server subprocess.
XDIST_GROUPS = {
    'torchrun': ('tests/training/test_distributed.py', 'tests/cli/test_launch.py', 'tests/infer/test_data_parallel.py'),
    'browser': ('tests/ui/test_web_ui_browser.py', 'tests/ui/test_web_ui_tabs.py', 'tests/ui/test_app_browser.py',
                'tests/ui/test_menu.py'),
}
# Units of work (groups, modules) that take minutes: under xdist they are handed out first, so that the run does not
# end with one worker finishing a long module while the other idles (`make test` passes --no-loadscope-reorder).
SLOW_FIRST = ('torchrun', 'browser', 'tests/training/rlhf/test_real_model.py', 'tests/training/test_grounding_sft.py',
              'tests/training/test_smolvlm_tiny_proof.py', 'tests/infer/server/test_tool_calls.py',
              'tests/export/test_gguf.py', 'tests/training/test_tasks.py')
_GROUP_OF = {path: group for group, paths in XDIST_GROUPS.items() for path in paths}


def unit_of(nodeid: str) -> str:
    """The unit of work of a test: its XDIST_GROUPS group, or its module (the path before `::`, relative to the
    repository; the same with or without the `@group` suffix that xdist's own loadgroup appends)."""
    path = nodeid.split('::')[0]
    return _GROUP_OF.get(path, path)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist (the test extra)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup`, with the units decided here from the node ids: xdist's loadgroup reads `xdist_group`
    marks through a node id suffix that pytest 9 no longer lets it write (pytest-dev/pytest-xdist#1386), and then
    hands out every test on its own, so a module's tests ran on both workers and its module fixtures (the shared
    torchrun launch: 6 minutes) were set up on each."""
    if config.getvalue('dist') != 'loadgroup':
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)
    return ModuleUnits(config, log)


def pytest_collection_modifyitems(config, items):
    """Under xdist, the SLOW_FIRST units first (the scheduler hands units out in the order of their first test)."""
    if not os.environ.get('PYTEST_XDIST_WORKER'):
        return

    def rank(item):
        unit = unit_of(item.nodeid)
        return SLOW_FIRST.index(unit) if unit in SLOW_FIRST else len(SLOW_FIRST)
    items.sort(key=rank)  # stable: the same order on every worker, collection order within a rank


@pytest.fixture(scope='session')
def shared_data() -> Path:
    path = SHARED / 'data'
    assert path.is_dir(), f'{path} is missing: tests read the shared datasets beside the checkout'
    return path


@pytest.fixture(scope='session')
def smollm_dir() -> Path:
    """The real embedded SmolLM2-135M-Instruct as a local model directory (converted once)."""
    from swift.model.embedded import ensure_embedded_model
    return ensure_embedded_model()


@pytest.fixture(scope='session')
def smollm_tokenizer(smollm_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(smollm_dir))


@pytest.fixture(scope='session')
def tiny_model_dir(tmp_path_factory, smollm_dir) -> Path:
    """A tiny random Llama (2 layers, hidden 64) with the SmolLM2 tokenizer: fast unit tests."""
    from swift.model.tiny_vlm import build_tiny_llama
    return build_once(tmp_path_factory, 'tiny-smollm', lambda folder: build_tiny_llama(smollm_dir, folder))


@pytest.fixture(scope='session')
def tiny_vlm_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """A tiny Idefics3 (SmolVLM architecture) on the tiny random Llama: 32-pixel images, 4 image tokens each."""
    from swift.model.tiny_vlm import build_idefics3
    return build_once(tmp_path_factory, 'tiny-vlm', lambda folder: build_idefics3(
        tiny_model_dir, folder / 'model', image_size=32, patch_size=8, scale_factor=2, vision_hidden=64))


@pytest.fixture(scope='session')
def tiny_vlm48_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """The same tiny Idefics3 with a 48-pixel input (6 x 6 patches of 8 pixels, 9 image tokens): the learning proofs
    that need more than one token's worth of pixels (grounding, OCR, colour and shape)."""
    from swift.model.tiny_vlm import build_idefics3
    return build_once(tmp_path_factory, 'tiny-vlm48', lambda folder: build_idefics3(
        tiny_model_dir, folder / 'model', image_size=48, patch_size=8, scale_factor=2, vision_hidden=64))
