"""memory:// lists a directory at the cost of its entries: the index agrees with a plain scan, and examines little."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkv_memory.data import MemoryData

#: keys built from few characters, '/' among them, so prefixes often cut directories in odd places
segments = st.text(alphabet="ab/", min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(segments, max_size=30),
    deleted=st.lists(segments, max_size=10),
    expired=st.lists(segments, max_size=5),
    prefix=st.text(alphabet="ab/", max_size=5),
)
def test_listing_matches_a_plain_scan(keys: list[str], deleted: list[str], expired: list[str], prefix: str) -> None:
    data = MemoryData()
    for key in keys:
        data.put(key, b"v", 10.0)
    for key in expired:
        data.put(key, b"v", 1.0)  # dead at now=5
    for key in deleted:
        data.remove(key)
    expected = {key for key, (_, deadline) in data.items.items() if deadline > 5.0 and key.startswith(prefix)}
    assert sorted(data.under(prefix, 5.0)[0]) == sorted(expected)
    for key in list(data.items):
        data.remove(key)
    assert data.under("", 5.0) == ([], 0) and data._dirs.keys() == {""}  # nothing left behind in the index


def test_listing_a_directory_examines_only_its_entries() -> None:
    data = MemoryData()
    for i in range(20_000):
        data.put(f"ns:s/call-{i}/session", b"v", 10.0)
    for i in range(5):
        data.put(f"ns:s/wanted/s{i}", b"v", 10.0)
    examined = list(data._candidates("ns:s/wanted/"))
    assert sorted(examined) == [f"ns:s/wanted/s{i}" for i in range(5)]
    assert data.under("ns:s/wanted/", 5.0)[1] == 5
