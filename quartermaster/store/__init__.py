"""The history: every job's record, timeline and kept log, in SQL (SQLite or PostgreSQL)."""

from quartermaster.store.records import LiveRecord, RecordStore

__all__ = ["LiveRecord", "RecordStore"]
