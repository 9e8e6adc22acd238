"""Single-field mutations of a certificate's JSON, for the property tests (never accepted, offline or online)."""

from __future__ import annotations

from hypothesis import strategies as st


def leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def changed(value, draw):
    """A different JSON value for one field: same type with one change, or the other type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(st.sampled_from([value + 1, value - 1, value + 2**32, str(value)]))
    if isinstance(value, list):
        choice = draw(st.sampled_from(["drop", "append", "element"] if value else ["append"]))
        if choice == "drop":
            return value[:-1]
        if choice == "append":
            return [*value, value[-1] if value else "0x" + "00" * 32]
        i = draw(st.integers(0, len(value) - 1))
        return [*value[:i], changed(value[i], draw), *value[i + 1:]]
    assert isinstance(value, str)
    if value.isdigit():
        return draw(st.sampled_from([str(int(value) + 1), int(value)]))
    if value.startswith("0x"):
        i = draw(st.integers(2, len(value) - 1))
        c = value[i]
        return value[:i] + ("a" if c != "a" else "b") + value[i + 1:]
    i = draw(st.integers(0, len(value) - 1))
    return value[:i] + draw(st.sampled_from(["1", "x", " ", "京"])) + value[i + 1:]
