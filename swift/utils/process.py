"""Ending a finished command's process without the interpreter's teardown.

When a training command is done its work is on disk, yet a Python process that has imported torch,
transformers, peft and their dependencies (~4,400 modules) spends 2-3 s of CPU in interpreter
finalization: freeing every module's objects one by one. `swift sft` on a one-minute job waited for
that after its last line (docs/benchmarks.md, issue 18). exit_now does what finalization does that
anyone can observe (non-daemon threads joined, atexit handlers run: logging's flush, tempfile and
weakref finalizers, multiprocessing's clean-up, swift's own; stdio flushed) and then ends the process.
"""
import atexit
import os
import sys
import threading


def exit_now(code: int) -> None:
    """End the process with `code` after what an ordinary exit would do first, minus the teardown."""
    main = threading.main_thread()
    for thread in threading.enumerate():  # as the interpreter waits for them before anything else
        if thread is not main and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it anyway
            pass
    os._exit(code)
