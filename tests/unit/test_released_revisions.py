"""A released revision is never edited: databases were made from it and are stamped with its id,
so an edit never reaches them (issue 18: revision 0001 gained columns in place, and every read of
a store made before failed). Change the schema with a new revision, and list it here."""

import hashlib

from quartermaster.store.migrate import MIGRATIONS

VERSIONS = MIGRATIONS / "versions"
# Each revision file's sha256. A released revision is never edited: add a new one. (Main is what
# ships: a revision is released once it is merged there.)
RELEASED = {
    # As it first shipped (commit 3d952b2); its later edits are undone, and revision 0002 adds
    # what they added to the databases made before them.
    "0001_records.py": "b5f8ee26db025df8bd299339fa35be770afe21954ecd4b92786d6546e1bf53b6",
    "0002_callback_columns.py": "7e7dbd3106a048440d40e4b983700af5e872bbb4672d2107e6f30ed86cba3806",
    "0003_job_filter_indexes.py": (
        "c7473d57523c059d591a70e9084b9d733815f4156460c77e6798090dfadb2476"
    ),
    "0005_audit.py": "8d3400d05308de07d6c2934928c435183e868e8709532fee160ae8672f09b1b9",
    "0004_tenants.py": "65b0dd13eeff2166936d3a0b9e17297f2366afa518c3466d6158e8535da5adfb",
    "0006_quotas.py": "d4ab2213f34484e0b37241ce9ff8f7d9237ef8617210fb7563389ea8cc70f3b9",
    "0007_templates.py": "a8122e8f5860f9cd11ae3a534ba4599c476c497fa2049ac31dbf693ee6072329",
    "0008_schedules.py": "badfaecb599a4af3ecf3c2bcebf08c1509d6f59e8e5322db6a23f7aa8731c9a3",
}


def test_released_revisions_are_unchanged():
    edited = [
        name
        for name, checksum in RELEASED.items()
        if hashlib.sha256((VERSIONS / name).read_bytes()).hexdigest() != checksum
    ]
    assert edited == [], "a released revision was edited: undo that, and add a new revision"


def test_every_revision_is_listed():
    revisions = sorted(path.name for path in VERSIONS.glob("*.py") if path.name != "__init__.py")
    assert revisions == sorted(RELEASED)
