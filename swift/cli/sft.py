"""`swift sft`: supervised fine-tuning (swift.training.sft)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('sft', argv)


if __name__ == '__main__':  # `python swift/cli/sft.py ...` (or under torchrun) runs `swift sft ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['sft', *sys.argv[1:]]))
