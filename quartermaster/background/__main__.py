"""`python -m quartermaster.background`: the background process (see process.py)."""

import sys

from quartermaster.background.process import run
from quartermaster.reaper.reaper import settings_of

run(*settings_of(sys.argv[1:]))
