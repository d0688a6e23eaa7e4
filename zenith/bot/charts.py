"""The views-over-time chart of a video's card, as PNG bytes (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402


def views_chart_png(
    points: Sequence[tuple[datetime, int]], *, title: str, marked: Sequence[tuple[datetime, datetime]] = ()
) -> bytes:
    """A line chart of views over time; needs at least one point.

    Uses `Figure` directly (not pyplot), so charts can be drawn from several threads.

    Parameters:
      points: (taken_at, views), oldest first.
      title: the chart's title (already translated).
      marked: (start, end) intervals shaded red, e.g. the growth held for review.
    """
    if not points:
        raise ValueError("a chart needs at least one point")
    figure = Figure(figsize=(6.4, 3.6), dpi=100)
    axes = figure.add_subplot()
    # the x axis is a date axis given matplotlib's day numbers: what it makes of datetimes itself,
    # spelled out so the numbers passed are the numbers its signatures ask for
    axes.xaxis_date()
    times = [float(mdates.date2num(moment)) for moment, _ in points]
    views = [count for _, count in points]
    axes.plot(times, views, marker="o", markersize=3, linewidth=1.8, color="#2a7ae2")
    axes.fill_between(times, views, alpha=0.12, color="#2a7ae2")
    for start, end in marked:
        axes.axvspan(float(mdates.date2num(start)), float(mdates.date2num(end)), color="#d62728", alpha=0.25)
        axes.axvline(float(mdates.date2num(end)), color="#d62728", linewidth=1.2, linestyle="--")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{int(value):,}".replace(",", " ")))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%d.%m\n%H:%M"))
    axes.set_ylim(bottom=0)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
