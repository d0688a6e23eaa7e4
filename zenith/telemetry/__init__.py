"""Telemetry: tracing set-up, Dramatiq context propagation, metrics, JSON logs.

See docs/telemetry.md. Import from the submodules (``zenith.telemetry.tracing`` etc.);
this package imports nothing heavy so that importing it stays cheap.
"""
