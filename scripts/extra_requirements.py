"""Print the requirements of one pyproject.toml extra, one a line (the Makefile installs the `llm-compressor`
extra with `pip install --no-deps` from this list, so its versions live only in pyproject.toml).

    python scripts/extra_requirements.py llm-compressor | xargs python -m pip install --no-deps
"""
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: the TOML reader pip vendors
    from pip._vendor import tomli as tomllib

extras = tomllib.loads((Path(__file__).resolve().parents[1] / 'pyproject.toml').read_text())['project'][
    'optional-dependencies']
if len(sys.argv) != 2 or sys.argv[1] not in extras:
    sys.exit(f'usage: {sys.argv[0]} EXTRA (one of: {", ".join(extras)})')
print('\n'.join(extras[sys.argv[1]]))
