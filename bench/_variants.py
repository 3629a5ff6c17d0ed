"""Side-by-side variants timed round after round (bench/appends.py, bench/localfs.py): each round runs every
variant once on the same input, and the figures leave the first `warmup` rounds out."""

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench._machine import load, machine


def p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


def timed_round(seconds: dict[str, list[float]], order: Sequence[str], run: Callable[[str], Any]) -> None:
    """Run `run(variant)` for each variant in `order`, appending its wall seconds to `seconds[variant]`."""
    for variant in order:
        t = time.perf_counter()
        run(variant)
        seconds[variant].append(round(time.perf_counter() - t, 3))


def round_line(done: int, rounds: int, seconds: dict[str, list[float]]) -> str:
    return f"round {done}/{rounds}: " + ", ".join(f"{v} {s[-1]:.2f} s" for v, s in seconds.items())


def figures(seconds: dict[str, list[float]], warmup: int) -> dict[str, dict[str, float]]:
    """{"median_s": {variant: s}, "p90_s": {variant: s}} over the rounds after the first `warmup`."""
    timed = {v: s[warmup:] for v, s in seconds.items()}
    return {
        "median_s": {v: round(statistics.median(s), 3) for v, s in timed.items()},
        "p90_s": {v: round(p90(s), 3) for v, s in timed.items()},
    }


def result_line(
    benchmark: str, args: Any, seconds: dict[str, list[float]], spark_version: str, load_before: Any, **extra: Any
) -> dict[str, Any]:
    """The JSON line's fields every such benchmark has (sizes, medians and p90s, every round's seconds, the
    machine and its load), with `extra` after the sizes."""
    return {
        "benchmark": benchmark,
        "rows_per_append": args.rows,
        "rounds": args.rounds,
        "warmup_rounds": args.warmup,
        **extra,
        **figures(seconds, args.warmup),
        "seconds": seconds,
        "machine": machine(spark_version),
        "load_before": load_before,
        "load_after": load(),
    }
