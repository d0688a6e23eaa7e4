"""The scaling plan's stage-2 design, built as it is written, as a baseline for the pipeline.

One Celery task per video (``parse_video_task``), ``asyncio.run`` per task, asyncpg for
PostgreSQL, Redis as the broker. Each task does the same unit of work as our parsing
pipeline: fetch the video's views from the YouTube Data API (one id per call), store a
snapshot, credit the growth through a double-entry ledger transfer in one transaction,
and queue a notice. Its own small schema (``schema.SCHEMA``) lives in the benchmark's
throwaway database; ``benchmarks/pipeline_vs_celery.py`` runs it against ours.
"""
