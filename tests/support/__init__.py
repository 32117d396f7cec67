"""What the tests share: settings, the API client, the in-memory runtime, the runtime contract,
the lab's helpers. Plain modules (fixtures live in each tier's conftest.py), and never a test
module: no test imports another."""
