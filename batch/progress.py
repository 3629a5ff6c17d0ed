"""Progress of a long batch job: on a terminal, one line rewritten in place (`done of total`, rows/s, elapsed);
otherwise nothing until the end. Either way one summary line when the job ends. Writes to stderr, so that
`--json` output on stdout stays one object."""

import sys
import time
from types import TracebackType
from typing import TextIO


class Progress:
    """`with Progress("compact", total=n, unit="partitions") as p: ...; p.advance(rows=r)`; `p.summary(text)`
    sets the last line."""

    def __init__(self, job: str, total: int, unit: str, *, stream: TextIO | None = None) -> None:
        self.job, self.total, self.unit = job, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.rows = 0
        self.started = time.monotonic()
        self._summary: str | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    def advance(self, steps: int = 1, *, rows: int = 0, what: str = "") -> None:
        self.done += steps
        self.rows += rows
        if self.live:
            rows_part = f", {self.rows:,} rows ({self.rate():,.0f} rows/s)" if self.rows else ""
            tail = f"  {what}" if what else ""
            line = f"weir {self.job}: {self.done}/{self.total} {self.unit}{rows_part}, {self.elapsed:.1f} s{tail}"
            self.stream.write("\r\x1b[2K" + line[:160])
            self.stream.flush()

    def summary(self, text: str) -> None:
        self._summary = text

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
        if kind is None and self._summary is not None:
            self.stream.write(f"weir {self.job}: {self._summary} ({self.elapsed:.1f} s)\n")
        self.stream.flush()
