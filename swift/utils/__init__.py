"""Small helpers every stage uses. Nothing here imports torch at module import time."""
from .errors import SwiftError, closest_matches, did_you_mean
from .logger import get_logger
from .io import atomic_write_text, atomic_write_json, atomic_dir
from .env import cache_dir, env_flag
