"""The benchmark registry: what each benchmark reads, how it asks, and how it scores.

    from swift.eval import Benchmark, register_benchmark

    class MyQuiz(Benchmark):
        name = 'my_quiz'
        kind = 'multiple_choice'
        ...
    register_benchmark(MyQuiz())

A benchmark names its hub source (a Hugging Face dataset ID, read with `datasets`), how to read the
original file layout from a local directory (`--eval_dataset_dir`), its prompt format (the reference
harness's), where its few-shot examples come from, and its scoring and metrics. Plugins register
more with `--external_plugins my_benchmarks.py`, like models and datasets.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError, did_you_mean

MULTIPLE_CHOICE = 'multiple_choice'  # scored by the log-likelihood of each choice
GENERATION = 'generation'  # scored by extracting an answer from generated text


@dataclass
class Doc:
    """One question, ready to prompt: the text before the answer, the choices, the gold answer."""
    id: str  # '<subset>/<row index>': stable across runs, the key for resuming
    subset: str
    query: str  # the prompt text of this question, without its answer
    choices: List[str]  # multiple choice: each choice's text as the model should continue the query
    gold: Any  # multiple choice: index into choices; generation: the reference answer
    target: str  # what follows the query when this doc is a few-shot example
    row: Dict[str, Any] = field(default_factory=dict)  # the source row, kept in the sample log
    images: List[str] = field(default_factory=list)  # multimodal benchmarks: the question's image files


class Benchmark:
    """Base class: subclasses set the class attributes and implement the reading and doc methods."""
    name: str = ''
    aliases: Tuple[str, ...] = ()
    kind: str = MULTIPLE_CHOICE
    multimodal: bool = False  # questions carry images: asked through the model's chat template with them
    metrics: Tuple[str, ...] = ('acc', 'acc_norm')
    hub_id: str = ''  # Hugging Face dataset ID
    local_dir: str = ''  # folder name under --eval_dataset_dir
    subsets: Tuple[str, ...] = ('default', )
    eval_split: str = 'test'
    fewshot_split: Optional[str] = None
    few_shot_num: int = 0
    # generation benchmarks
    until: Tuple[str, ...] = ()
    max_new_tokens: int = 256

    # ---- data ----
    def hub_config(self, subset: str) -> Optional[str]:
        """The `datasets.load_dataset` config name of a subset (None: the dataset has one config)."""
        return None if subset == 'default' else subset

    def hub_split(self, split: str) -> str:
        return split

    def convert_hub_row(self, row: Dict[str, Any], subset: str) -> Dict[str, Any]:
        """A hub row in the shape read_local returns (the two sources may differ in column names)."""
        return row

    def default_root(self) -> Optional[Path]:
        """The local folder to read without --eval_dataset_dir (None: the hub); may raise saying where to get it."""
        return None

    def local_subsets(self, root: Path) -> List[str]:
        """Subsets with files under root (a local copy may hold fewer than the release)."""
        return list(self.subsets)

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        raise NotImplementedError

    def fixed_fewshot(self) -> Optional[List[Dict[str, Any]]]:
        """Few-shot rows that ship with the prompt (e.g. a paper's exemplars); None: read fewshot_split."""
        return None

    # ---- prompt ----
    def description(self, subset: str) -> str:
        """Text before the first example (the task instruction), '' for none."""
        return ''

    def to_doc(self, row: Dict[str, Any], subset: str, index: int) -> Doc:
        raise NotImplementedError

    def category(self, subset: str) -> Optional[str]:
        """A group of subsets the report also averages over (MMLU's stem/humanities/...)."""
        return None

    # ---- scoring of generated text ----
    def score_generation(self, text: str, doc: Doc) -> Tuple[Dict[str, float], Any]:
        """(metric → 0/1, the extracted answer) for one generated reply."""
        raise NotImplementedError

    def corpus_metrics(self, records: List[Dict[str, Any]]) -> Optional[Dict[str, float]]:
        """Metrics that are not means over questions (BLEU, CIDEr), from the sample records; None: means only."""
        return None

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.name!r})'


BENCHMARKS: Dict[str, Benchmark] = {}
_ALIASES: Dict[str, str] = {}


def register_benchmark(benchmark: Benchmark, exist_ok: bool = False) -> Benchmark:
    if not benchmark.name:
        raise SwiftError(f'{type(benchmark).__name__}: a benchmark needs a name')
    if benchmark.kind not in (MULTIPLE_CHOICE, GENERATION):
        raise SwiftError(f'benchmark {benchmark.name!r}: kind must be {MULTIPLE_CHOICE!r} or {GENERATION!r}')
    if benchmark.name in BENCHMARKS and not exist_ok:
        raise SwiftError(f'benchmark {benchmark.name!r} is already registered; pass exist_ok=True to replace it')
    BENCHMARKS[benchmark.name] = benchmark
    for alias in benchmark.aliases:
        _ALIASES[alias] = benchmark.name
    return benchmark


def _ensure_builtin() -> None:
    from . import benchmarks  # noqa: F401  (registers the built-in benchmarks)


def list_benchmarks() -> List[str]:
    _ensure_builtin()
    return sorted(BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    _ensure_builtin()
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in BENCHMARKS:
        raise SwiftError(f'unknown benchmark {name!r}.{did_you_mean(name, list(BENCHMARKS) + list(_ALIASES))} '
                         f'Benchmarks: {", ".join(sorted(BENCHMARKS))}')
    return BENCHMARKS[key]


def get_benchmarks(names: Sequence[str]) -> List[Benchmark]:
    found: List[Benchmark] = []
    for name in names:
        benchmark = get_benchmark(name)
        if benchmark not in found:
            found.append(benchmark)
    return found
