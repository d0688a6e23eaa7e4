"""Update ids that keep increasing across restarts of the sandbox, as Telegram's do.

Telegram numbers a bot's updates in one increasing sequence; a bot that keeps polling
through a restart of the Bot API side confirms with an ``offset`` above everything it
has seen. A sandbox that started again from its first id would hand out ids below that
offset, and those updates would be confirmed away unseen. So `zenith sandbox` keeps the
next id in a file under DATA_DIR.

Ids are reserved in blocks, like a database sequence's cache: the file holds the first
id no run has been given, and is written once per ``block`` updates (before any id of
the new block is handed out). A crash leaves a gap in the ids, never a repeat.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

FILE_NAME = "next_update_id"
# Telegram's update ids are 32-bit signed; a sequence that reaches the end starts over.
LAST_UPDATE_ID = 2**31 - 1


class UpdateIdReservation:
    """Hands out blocks of update ids recorded in ``folder/next_update_id``.

    Parameters:
      folder(Path): Where the file lives; created when missing.
      first(int): The first id when there is no file yet.
      block(int): Ids reserved per write.  Default: 1,000.
    """

    def __init__(self, folder: Path, *, first: int, block: int = 1_000) -> None:
        self.path = Path(folder) / FILE_NAME
        self.first = first
        self.block = block
        self.limit = 0  # ids below this are reserved for this run

    def start(self) -> int:
        """The first id of this run (reserves its first block)."""
        start = self._read()
        self._reserve(start)
        return start

    def take(self, update_id: int) -> None:
        """Make sure ``update_id`` is covered by a reservation written to the file."""
        if update_id >= self.limit:
            self._reserve(update_id)

    def _read(self) -> int:
        try:
            raw = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return self.first
        except OSError as exc:
            logger.warning("sandbox update id file unreadable (%r); numbering from %d", exc, self.first)
            return self.first
        if not raw.isdigit() or not self.first <= int(raw) < LAST_UPDATE_ID - self.block:
            logger.warning("sandbox update id file holds %r; numbering from %d", raw[:40], self.first)
            return self.first
        return int(raw)

    def _reserve(self, start: int) -> None:
        self.limit = start + self.block
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(str(self.limit), encoding="ascii")
        os.replace(temporary, self.path)  # atomic: a crash leaves the old or the new value
