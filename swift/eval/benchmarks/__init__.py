"""The built-in benchmarks; importing this package registers them."""
from . import arc, exams, gsm8k, hellaswag, mm_tasks, nlvr2  # noqa: F401
