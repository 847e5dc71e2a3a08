import sys, os
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from units import parse_size


@pytest.mark.parametrize("text,expected", [("1", 1), ("2K", 2000), ("512Mi", 512 * 2**20), ("1Gi", 2**30)])
def test_sizes(text, expected):
    assert parse_size(text) == expected


def test_rejects_garbage():
    with pytest.raises(ValueError):
        parse_size("lots")


@pytest.mark.slow
def test_many_sizes():
    for n in range(100000):
        assert parse_size(f"{n}Ki") == n * 1024
