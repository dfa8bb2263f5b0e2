"""Batch inference on several processes: `NPROC_PER_NODE=N swift infer --val_dataset ... --result_path out.jsonl`.

Each rank loads the model and answers the rows whose index is its rank modulo the number of ranks, into its own
part file `out.jsonl.rank<k>` (appended line by line, as the one-process batch mode writes). When every rank is
done, rank 0 merges the parts into `out.jsonl`, in the input order. A killed run leaves its parts behind: the
next run (any number of processes) merges them first, so no answered row is run again.
"""
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Dict, List, Tuple

from swift.utils import get_logger
from swift.utils.io import atomic_write_text

from .batch import finished_indices, run_batch

logger = get_logger()


def world() -> Tuple[int, int]:
    """(this process's rank, the number of processes)."""
    return int(os.environ.get('RANK', '0') or 0), int(os.environ.get('WORLD_SIZE', '1') or 1)


def part_files(path: Path) -> List[Path]:
    return sorted(path.parent.glob(f'{path.name}.rank*')) if path.parent.is_dir() else []


def merge_parts(path: Path) -> int:
    """Fold the part files into `path`, every row once, in the input order; returns the rows in `path`."""
    parts = part_files(path)
    if not parts:
        return len(finished_indices(path))
    records: Dict[int, str] = {}
    for source in [path, *parts]:
        finished_indices(source)  # cuts a torn last line (a killed writer) and checks every line
        if source.is_file():
            for line in source.read_text(encoding='utf-8').splitlines():
                if line.strip():
                    records.setdefault(int(json.loads(line)['index']), line)
    atomic_write_text(path, ''.join(records[i] + '\n' for i in sorted(records)))
    for part in parts:
        part.unlink()
    return len(records)


def run_batch_data_parallel(engine, rows, result_path: str, config, system=None, timeout_s: int = 1800) -> Dict:
    """This rank's share of the rows; the merged file once all are done. Counts are summed over the ranks."""
    import torch
    import torch.distributed as dist
    rank, size = world()
    if not dist.is_initialized():  # only a barrier and a sum travel between the ranks: gloo suffices anywhere
        dist.init_process_group('gloo', timeout=timedelta(seconds=timeout_s))
    path = Path(result_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        merge_parts(path)  # what a killed run left behind
    dist.barrier()
    done = finished_indices(path)
    mine = [i for i in range(len(rows)) if i % size == rank and i not in done]
    part = path.with_name(f'{path.name}.rank{rank}')
    counts = run_batch(engine, rows, str(part), config, system=system, indices=mine, progress=rank == 0)
    total = torch.tensor([counts['done'], counts['errors']], dtype=torch.int64)
    dist.all_reduce(total)
    dist.barrier()  # every part is complete
    if rank == 0:
        merged = merge_parts(path)
        logger.info(f'{path}: {merged} rows, merged from {size} processes in the input order')
    dist.barrier()
    return {'done': int(total[0]), 'errors': int(total[1]), 'skipped': len(done)}
