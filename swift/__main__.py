"""`python -m swift sft ...` (and `torchrun ... -m swift sft ...`, ms-swift's launch form) is `swift sft ...`."""
import sys

from swift.cli.main import main

if __name__ == '__main__':
    sys.exit(main())
