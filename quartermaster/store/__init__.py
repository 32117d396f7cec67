"""The history: every job's record, timeline and kept log, in SQL (SQLite or PostgreSQL)."""

from quartermaster.store.records import LiveRecord, RecordStore, StoreSize

__all__ = ["LiveRecord", "RecordStore", "StoreSize"]
