"""Files the bot uploaded or users sent, addressable by file_id like on Telegram."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

from zenith.sandbox.errors import bad_request


@dataclass(frozen=True)
class StoredFile:
    """One stored file; ``width``/``height`` are set for images."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str
    data: bytes
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def photo_sizes(self) -> list[dict]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.size,
            }
        ]

    def document(self) -> dict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "file_size": self.size,
        }

    def file_object(self) -> dict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG; ``None`` if it is none of those."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return width, height
            pos += 2 + length
    return None


class FileStore:
    """file_id -> StoredFile, plus lookup by the download path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def put(self, data: bytes, *, filename: str, kind: str) -> StoredFile:
        """Store ``data``; ``kind`` "photos" checks it is an image (IMAGE_PROCESS_FAILED)."""
        width = height = 0
        if kind == "photos":
            size = image_size(data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
        if not data:
            raise bad_request("file must be non-empty")
        unique = secrets.token_urlsafe(8)
        stored = StoredFile(
            file_id=f"{kind[:3].upper()}{secrets.token_urlsafe(24)}",
            file_unique_id=unique,
            file_path=f"{kind}/file_{unique}{_suffix(filename)}",
            filename=filename,
            data=data,
            width=width,
            height=height,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        stored = self._by_id.get(file_id)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def by_path(self, path: str) -> StoredFile | None:
        return self._by_path.get(path)


def _suffix(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return f".{ext}" if dot and ext.isalnum() else ""
