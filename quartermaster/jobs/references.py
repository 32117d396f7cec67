"""The form of swarm's ids, which a job reference is compared against. Pure: no Docker calls."""

import re

# swarmkit's identity.NewID: 136 random bits (the top one set) in base 36, the first digit
# dropped: always 25 digits and lower-case letters. /run refuses names of this form, so a
# reference of this form can only mean the job with that id.
FULL_ID_PATTERN = re.compile(r"[0-9a-z]{25}\Z")


def is_full_id(reference: str) -> bool:
    return FULL_ID_PATTERN.match(reference) is not None
