"""`swift export`: merge LoRA into a standalone model (swift.export.main)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('export', argv)


if __name__ == '__main__':  # `python swift/cli/export.py ...` (or under torchrun) runs `swift export ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['export', *sys.argv[1:]]))
