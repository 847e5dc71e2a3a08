"""Parse human sizes: '512Mi' -> 536870912."""

_FACTORS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def parse_size(text: str) -> int:
    text = text.strip()
    digits = text.rstrip("KMGi")
    unit = text[len(digits):]
    if unit not in _FACTORS or not digits.isdigit():
        raise ValueError(f"not a size: {text!r}")
    return int(digits) * _FACTORS[unit]
