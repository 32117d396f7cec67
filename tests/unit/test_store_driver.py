"""psycopg 3 picks how it waits for the server when it is first imported: gevent's poll (other
greenlets run meanwhile) when gevent's patch came first, a blocking C wait otherwise (the whole
worker would stand still for a slow query). Every server entry point patches first
(quartermaster/server/preamble.py); this checks psycopg, as the store loads it, then waits
cooperatively. (In the lab tier, test_store_postgres.py measures it on a real server.)"""

import subprocess
import sys

LOADS_THE_STORE_AS_A_WORKER_DOES = """
import quartermaster.server  # what gunicorn.conf.py, wsgi.py and the command import first
from quartermaster.store.engine import make_engine
make_engine("postgresql+psycopg://nobody@/nowhere")  # loads the dialect, and psycopg with it
import psycopg.waiting
print(psycopg.waiting.wait.__name__)
"""


def waiting_function(program: str) -> str:
    answer = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    return answer.stdout.strip()


def test_psycopg_waits_cooperatively_in_a_server_process():
    assert waiting_function(LOADS_THE_STORE_AS_A_WORKER_DOES) == "wait_poll"


def test_without_the_patch_first_it_would_block():
    program = LOADS_THE_STORE_AS_A_WORKER_DOES.replace("import quartermaster.server", "")
    assert waiting_function(program) == "wait_c"
