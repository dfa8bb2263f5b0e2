"""`swift infer`: chat with a model, or run it over a dataset (swift.infer.main)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('infer', argv)


if __name__ == '__main__':  # `python swift/cli/infer.py ...` (or under torchrun) runs `swift infer ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['infer', *sys.argv[1:]]))
