"""The real `qm` command as a test runs it: a subprocess of this environment's, told the server
and the token by QM_URL and QM_TOKEN (the caller's own QM_ variables left out)."""

import os
import subprocess
import sys
from pathlib import Path

QM = str(Path(sys.executable).parent / "qm")


def qm(url: str, token: str, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("QM_")}
    return subprocess.run(
        [QM, *args], env={**env, "QM_URL": url, "QM_TOKEN": token},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
