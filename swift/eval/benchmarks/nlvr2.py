"""NLVR visual reasoning as one benchmark (`--eval_dataset nlvr2`, alias `nlvr`): an image and a sentence, is the
sentence true of the image? Asked through the model's chat template with the image, greedy; the first
true/false (or yes/no) word of the reply is the answer; acc = answers equal to the label.

Data: local files only (no hub copy carries the images). `--eval_dataset_dir DIR` with `DIR/nlvr/`, or the
environment variable SWIFT_NLVR_DIR pointing at that folder, in the release layout of NLVR
(https://github.com/lil-lab/nlvr, folder nlvr/dev):
- `<split>.json`: JSON lines {"sentence", "label": "true"|"false", "identifier": "n-m", "directory", ...};
- `images/<directory>/<split>-<identifier>-0.png`: the image of each line (permutation 0 of the release's six).
NLVR2 lines (https://github.com/lil-lab/nlvr, folder nlvr2: {"sentence", "label", "identifier": "dev-850-0-0",
"left_url", "right_url", ...}) are read too: their two images are `images/[<directory>/]<split>-<set>-<pair>-img0.png`
(left) and `-img1.png` (right), as NLVR2's image release names them, and the question asks about both, left first.
A line may instead name its images itself: "images": [paths relative to the folder]; the label may also be
"True"/"False" or a boolean.
"""
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from swift.utils import SwiftError

from ..data import read_jsonl_rows, require_file
from ..registry import GENERATION, Benchmark, Doc, register_benchmark

ENV_DIR = 'SWIFT_NLVR_DIR'
WHERE_TO_GET = ('NLVR (CC-BY-4.0) from https://github.com/lil-lab/nlvr: copy its nlvr/dev/dev.json and '
                'nlvr/dev/images/ into a folder nlvr/ and pass --eval_dataset_dir <its parent>, or set '
                f'{ENV_DIR}=<that folder>')
QUESTION = '\nIs this sentence true or false about the image? Answer True or False.'
PAIR_QUESTION = '\nIs this sentence true or false about the left and right images? Answer True or False.'
_NLVR2_ID = re.compile(r'^(\w+-\d+-\d+)-\d+$')  # split-set-pair-sentence: the pair's images share the prefix
_ANSWER_RE = re.compile(r'\b(true|false|yes|no)\b', re.IGNORECASE)


def _label(value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if text not in ('true', 'false'):
        raise SwiftError(f'{where}: label {value!r} is not true/false')
    return 'True' if text == 'true' else 'False'


def extract_answer(text: str) -> Optional[str]:
    """'True' / 'False' from the first true/false/yes/no word of a reply; None when there is none."""
    match = _ANSWER_RE.search(text)
    if match is None:
        return None
    return 'True' if match.group(1).lower() in ('true', 'yes') else 'False'


class NLVR2(Benchmark):
    name = 'nlvr2'
    aliases = ('nlvr', )
    kind = GENERATION
    multimodal = True
    metrics = ('acc', )
    hub_id = ''
    local_dir = 'nlvr'
    eval_split = 'dev'
    fewshot_split = None
    few_shot_num = 0
    until = ()
    max_new_tokens = 8

    def default_root(self) -> Optional[Path]:
        folder = os.environ.get(ENV_DIR)
        if not folder:
            raise SwiftError(f'{self.name}: no data. {WHERE_TO_GET}')
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise SwiftError(f'{ENV_DIR}={folder}: not a directory. {WHERE_TO_GET}')
        return root

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        path = root / f'{split}.json'
        if not path.is_file():
            raise SwiftError(f'{self.name}: {path} not found. {WHERE_TO_GET}')
        rows = read_jsonl_rows(require_file(path, self.name), required=('sentence', 'label'))
        for number, row in enumerate(rows, 1):
            where = f'{path}:{number}'
            row['label'] = _label(row['label'], where)
            row['images'] = [str(p) for p in self._images(root, split, row, where)]
        return rows

    def _images(self, root: Path, split: str, row: Dict[str, Any], where: str) -> List[Path]:
        if row.get('images'):
            images = [root / p for p in (row['images'] if isinstance(row['images'], list) else [row['images']])]
        elif _NLVR2_ID.match(str(row.get('identifier', ''))):  # NLVR2: a left and a right image
            folder = root / 'images' / str(row['directory']) if 'directory' in row else root / 'images'
            prefix = _NLVR2_ID.match(str(row['identifier'])).group(1)
            images = [folder / f'{prefix}-img{side}.png' for side in (0, 1)]
        elif 'identifier' in row and 'directory' in row:
            images = [root / 'images' / str(row['directory']) / f'{split}-{row["identifier"]}-0.png']
        else:
            raise SwiftError(f'{where}: a row needs "identifier" and "directory" (NLVR layout) or "images"')
        for image in images:
            if not image.is_file():
                raise SwiftError(f'{where}: image {image} not found. {WHERE_TO_GET}')
        return images

    def to_doc(self, row: Dict[str, Any], subset: str, index: int) -> Doc:
        return Doc(id=f'{subset}/{index}', subset=subset, query=question(row), choices=[],
                   gold=row['label'], target=row['label'], row=dict(row), images=list(row['images']))

    def score_generation(self, text: str, doc: Doc) -> Tuple[Dict[str, float], Any]:
        answer = extract_answer(text)
        return {'acc': float(answer == doc.gold)}, answer


register_benchmark(NLVR2())


def question(row: Dict[str, Any]) -> str:
    """The row's images as tags (left first), its sentence, and the question (about the image, or the pair)."""
    count = len(row['images'])
    return '<image>' * count + row['sentence'] + (PAIR_QUESTION if count == 2 else QUESTION)


def training_rows(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """NLVR rows (as read_local returns them) as swift chat rows with images: the same question, the label as
    the answer, for `swift sft` / `swift rlhf` on the benchmark's own format."""
    return [{'messages': [{'role': 'user', 'content': question(r)},
                          {'role': 'assistant', 'content': r['label']}], 'images': list(r['images'])} for r in rows]
