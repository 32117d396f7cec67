"""Blanking the token where a request line may carry it, in anything written about a request."""

import re

_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"]*", re.IGNORECASE)


def redact_query_tokens(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1[REDACTED]", text)
