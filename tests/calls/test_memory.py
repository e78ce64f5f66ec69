"""After the last call the process hands its freed heap back to the OS (bench: RSS after close)."""

import psutil

from zorio_widget.calls import memory


def _rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def test_release_free_memory_returns_a_fragmented_heap_to_the_os() -> None:
    assert memory._malloc_trim is not None  # glibc here; elsewhere the trim is skipped
    blocks = [bytes(4096) for _ in range(40_000)]  # ~160 MiB from malloc (too big for pymalloc)
    keep = blocks[::64]  # survivors pin the heap top, as a few long-lived objects do after calls
    del blocks
    before = _rss_mib()
    memory.release_free_memory()
    after = _rss_mib()
    assert before - after > 50, (before, after)
    assert len(keep) == 625
