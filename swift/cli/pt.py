"""`swift pt`: continued pre-training on plain text (swift.training.sft)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('pt', argv)


if __name__ == '__main__':  # `python swift/cli/pt.py ...` (or under torchrun) runs `swift pt ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['pt', *sys.argv[1:]]))
