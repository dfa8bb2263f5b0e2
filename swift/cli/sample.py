"""`swift sample`: rejection sampling and distillation into a dataset (swift.training.sample)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('sample', argv)


if __name__ == '__main__':  # `python swift/cli/sample.py ...` (or under torchrun) runs `swift sample ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['sample', *sys.argv[1:]]))
