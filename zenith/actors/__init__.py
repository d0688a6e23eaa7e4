"""Dramatiq actors, one module per concern: submission, parsing, rates, payouts,
notifications; plus the worker command, the clock and the per-process runtime.

Actors are registered on a broker explicitly (`registry.register_actors`), never at
import time, so a test can bind them to a broker of its own.
"""
