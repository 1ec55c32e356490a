"""Attachments received on channels that deliver the bytes themselves (e-mail).

Files live under `ATTACHMENTS_DIR` (default `<repo>/var/attachments`), named by the SHA-256 of
their content: the same file received twice is stored once, a re-fetched mail rewrites nothing,
and the name says nothing about the patient. The message row keeps the reference
(`attachment:sha256:<hex>`), the content type and the original file name. Directories are 0700
and files 0600: they hold health data. Nothing here logs names or content.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

PREFIX = "attachment:sha256:"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class AttachmentStore:
    """Content-addressed files under `root` (written atomically, never overwritten)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, content_type: str | None = None, filename: str | None = None) -> str:
        """Store `data` (idempotent); returns its reference. Type and name live in the message row."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return PREFIX + digest

    def path_of(self, reference: str) -> Path | None:
        """The file behind a reference, if it is one of ours and exists."""
        digest = reference.removeprefix(PREFIX) if reference.startswith(PREFIX) else ""
        if not _DIGEST.match(digest):
            return None
        path = self._path(digest)
        return path if path.is_file() else None

    def read(self, reference: str) -> bytes | None:
        """The stored bytes (None when unknown)."""
        path = self.path_of(reference)
        return path.read_bytes() if path is not None else None

    def delete(self, reference: str) -> bool:
        """Remove the file behind a reference (retention/erasure); True when a file was removed.

        The caller checks first that no kept message still points at it (files are shared by
        content)."""
        path = self.path_of(reference)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        return True

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest
