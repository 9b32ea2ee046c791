"""Peak resident memory and wall time of one Lambda invocation, measured by the handler itself.

Why here and not from Lambda's REPORT line: the handler emits the figure as an EMF metric and
in the run's profile, so the same number is read locally and on AWS, and the REPORT line of
the embedded AWS is this measurement too (it reads the window the handler read).

How: one sampler thread reads ``/proc/self/statm`` (Linux, as on Lambda) every few
milliseconds while any invocation is in flight; each invocation's window keeps the highest
resident size seen between its start and its end (and the sizes at both ends).

What the figure means:

- On AWS the process is the invocation's sandbox, so the figure is the process's peak
  resident size during the invocation: the interpreter, the imported code and what the
  invocation holds; what Lambda's ``Max Memory Used`` reports, less the runtime's bootstrap.
- Locally the embedded AWS runs every handler in one process, beside moto, on threads.
  It opens the window and hands it over in ``SANDBOX`` with the function's ``footprint``:
  what a sandbox holds after the init phase, measured once per function as the resident
  size of a fresh interpreter that has loaded the function's module. The figure is then
  that footprint plus the process's growth above the invocation's start. It reads lower
  than AWS's by what the invocation imports lazily that the process had already imported
  (for another function), and by the runtime's bootstrap; when invocations overlap (Map
  items on threads) each one's growth includes the others': the window says how many were
  in flight (``shared``), and the figure is an upper bound of its own.
"""

from __future__ import annotations

import os
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from phenolake.config import environ

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def resident_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def configured_mb() -> int:
    """The function's configured memory (Lambda sets ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``), 0
    outside Lambda."""
    value = environ().get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return int(value) if value.isdigit() else 0


@dataclass(frozen=True)
class Measurement:
    """One invocation: when it started (epoch seconds), how long, its peak in bytes, and the
    most invocations in flight at once while it ran (1: the figure is its own)."""

    started: float
    seconds: float
    peak_bytes: int
    shared: int

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB


@dataclass
class Window:
    """The span of one invocation the sampler watches. ``footprint`` None: the process is the
    sandbox (the peak is absolute); else the peak is the footprint plus the growth."""

    meter: Meter
    started: float
    began: float
    start_rss: int
    footprint: int | None = None
    peak_rss: int = 0
    in_flight: int = 1
    #: What the handler read (``read``), for the invoker's REPORT line.
    reported: Measurement | None = None
    closed: bool = field(default=False)

    def read(self) -> Measurement:
        """The measurement so far (the window stays open)."""
        now = resident_bytes()
        with self.meter.lock:
            self.peak_rss = max(self.peak_rss, now)
            peak, in_flight = self.peak_rss, self.in_flight
        growth = peak - self.start_rss
        figure = peak if self.footprint is None else self.footprint + max(growth, 0)
        return Measurement(self.started, time.monotonic() - self.began, figure, in_flight)

    def close(self) -> Measurement:
        measured = self.read()
        self.meter.forget(self)
        return measured


class Meter:
    """The one sampler of the process, serving every window in flight."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.lock = threading.Lock()
        self._windows: list[Window] = []
        self._thread: threading.Thread | None = None

    def open(self, footprint: int | None = None) -> Window:
        now = resident_bytes()
        window = Window(self, time.time(), time.monotonic(), now, footprint, now)
        with self.lock:
            self._windows.append(window)
            in_flight = len(self._windows)
            for each in self._windows:
                each.in_flight = max(each.in_flight, in_flight)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="memory-meter", daemon=True)
                self._thread.start()
        return window

    def forget(self, window: Window) -> None:
        with self.lock:
            if not window.closed:
                window.closed = True
                self._windows.remove(window)

    def _run(self) -> None:
        while True:
            now = resident_bytes()
            with self.lock:
                if not self._windows:
                    self._thread = None
                    return
                for window in self._windows:
                    window.peak_rss = max(window.peak_rss, now)
            time.sleep(self.interval)


METER = Meter()

#: Set by an embedded AWS around an invocation it runs in a shared process: the window it
#: opened (with the function's footprint), which the handler reads instead of opening its own.
SANDBOX: ContextVar[Window | None] = ContextVar("phenolake_sandbox", default=None)


class Invocation:
    """The handler's side: made at its start, ``end`` once it has its result; it reads the
    engine's window when there is one (the figure is then the REPORT line's too)."""

    def __init__(self) -> None:
        self._outer = SANDBOX.get()
        self._window = self._outer or METER.open()

    def end(self) -> Measurement:
        if self._outer is not None:
            measured = self._outer.read()
            self._outer.reported = measured
            return measured
        return self._window.close()
