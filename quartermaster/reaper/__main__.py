"""`python -m quartermaster.reaper`: the reaper process (see reaper.py)."""

import sys

from quartermaster.reaper.reaper import main

main(sys.argv[1:])
