"""Small, playable, deterministic WAV recordings (8 kHz mono 16-bit tones)."""

from __future__ import annotations

import io
import math
import sys
import wave
import zlib
from array import array
from functools import lru_cache

SAMPLE_RATE = 8000


@lru_cache(maxsize=64)
def recording_wav(call_id: str) -> bytes:
    """A 1-3 s two-tone WAV derived from ``call_id``: same id, same bytes."""
    h = zlib.crc32(call_id.encode("utf-8"))
    seconds = 1 + h % 3
    freq_a = 300 + (h >> 2) % 500  # Hz
    freq_b = freq_a * 1.5
    n = SAMPLE_RATE * seconds
    fade = SAMPLE_RATE // 50  # 20 ms fade in/out, no clicks
    step_a = 2 * math.pi * freq_a / SAMPLE_RATE
    step_b = 2 * math.pi * freq_b / SAMPLE_RATE
    samples = array("h", bytes(2 * n))
    for i in range(n):
        envelope = min(1.0, i / fade, (n - 1 - i) / fade)
        samples[i] = int(8000 * envelope * (math.sin(step_a * i) + 0.5 * math.sin(step_b * i)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        if sys.byteorder == "big":
            samples.byteswap()  # WAV samples are little-endian
        out.writeframes(samples.tobytes())
    return buffer.getvalue()
