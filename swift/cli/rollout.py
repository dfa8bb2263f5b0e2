"""`swift rollout`: serve a model for swift rlhf rollouts, with weight sync (swift.infer.server.rollout)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('rollout', argv)


if __name__ == '__main__':  # `python swift/cli/rollout.py ...` (or under torchrun) runs `swift rollout ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['rollout', *sys.argv[1:]]))
