"""The built-in benchmarks; importing this package registers them."""
from . import arc, exams, gsm8k, hellaswag, nlvr2  # noqa: F401
