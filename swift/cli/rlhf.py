"""`swift rlhf`: alignment: DPO, ORPO, SimPO, CPO, KTO, RM, PPO, GRPO (swift.training.rlhf)."""
import sys

from swift.cli.stage import run_stage


def main(argv) -> int:
    return run_stage('rlhf', argv)


if __name__ == '__main__':  # `python swift/cli/rlhf.py ...` (or under torchrun) runs `swift rlhf ...`
    from swift.cli.main import main as swift_main
    sys.exit(swift_main(['rlhf', *sys.argv[1:]]))
