from .sft import main as sft_cli


def main(argv) -> int:
    return sft_cli(argv, pt=True)
