"""`swift deploy`: serve a model behind an OpenAI-compatible API (swift.infer.server.deploy)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('deploy', argv)


if __name__ == '__main__':  # `python swift/cli/deploy.py ...` (or under torchrun) runs `swift deploy ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['deploy', *sys.argv[1:]]))
