"""Shared benchmark helpers: side-by-side timing and a description of the machine.

Every benchmark compares two (or more) callables in one run, alternating
them so that machine noise hits both alike, and prints medians and ratios.
"""

import os
import platform
import statistics
import sys
import time
from importlib import metadata


def machine_lines(packages=("keras", "tensorflow", "keras-hub", "numpy")):
    """Lines describing the CPU, thread counts, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        f"machine: {cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}",
        f"python {sys.version.split()[0]}; threads: OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}",
    ]
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    lines.append("versions: " + ", ".join(versions))
    return lines


def alternate(candidates, repetitions=20, warmup=3):
    """Time each callable `repetitions` times, interleaved, after `warmup` calls each.

    Args:
        candidates: dict name -> zero-argument callable.

    Returns:
        dict name -> list of seconds per call.
    """
    for function in candidates.values():
        for _ in range(warmup):
            function()
    times = {name: [] for name in candidates}
    for _ in range(repetitions):
        for name, function in candidates.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def median_ms(samples):
    return 1000 * statistics.median(samples)


def table(rows, header):
    """A GitHub-flavoured Markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
