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


def mutate_one_field(cert: dict, draw) -> tuple[tuple, object] | None:
    """Change one leaf of ``cert`` in place; (path, new value), or None when the draw changed nothing."""
    path, value = draw(st.sampled_from(list(leaves(cert))))
    new = changed(value, draw)
    if new == value and type(new) is type(value):
        return None
    target = cert
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return path, new


_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def high_s_twin(value: str) -> str:
    """The other valid signature of the same key and message: s -> n - s, v 27 <-> 28."""
    sig = bytes.fromhex(value[2:])
    s = int.from_bytes(sig[32:64], "big")
    return "0x" + (sig[:32] + (_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])).hex()


def v_zero_or_one(value: str) -> str:
    """The same signature with v written 0/1 instead of 27/28."""
    sig = bytes.fromhex(value[2:])
    return "0x" + (sig[:64] + bytes([sig[64] - 27])).hex()
