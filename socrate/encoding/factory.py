"""The process's one encoder, made on first use so that only the processes that encode import memvid."""

from __future__ import annotations

import threading

from socrate.encoding import Encoder

_lock = threading.Lock()
_encoder: Encoder | None = None


def get_encoder() -> Encoder:
    """The process-wide encoder (it shares the process's one embedding model)."""
    global _encoder
    with _lock:
        if _encoder is None:
            from socrate.encoding.memvid_encoder import MemvidEncoder

            _encoder = MemvidEncoder()
        return _encoder
