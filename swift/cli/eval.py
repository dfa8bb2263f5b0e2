"""`swift eval`: score a model on benchmarks (swift.eval.main)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('eval', argv)


if __name__ == '__main__':  # `python swift/cli/eval.py ...` (or under torchrun) runs `swift eval ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['eval', *sys.argv[1:]]))
