"""The history: every job's record, timeline and kept log, in SQL (SQLite or PostgreSQL)."""

from quartermaster.store.records import RecordStore
from quartermaster.store.rows import LiveRecord, StoreSize

__all__ = ["LiveRecord", "RecordStore", "StoreSize"]
