"""The canonical-form shortcut of :mod:`api.httpsig` reads every Signature-Input exactly as the general RFC 8941
parser (``http_sf``) does, and leaves anything else to it."""

from __future__ import annotations

from http_sf.innerlist import ser_innerlist
from hypothesis import given, settings
from hypothesis import strategies as st

from api import httpsig

_sf_string = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
_component = st.sampled_from(["@method", "@path", "@query", "@authority", "content-digest", "content-type"])
_param_value = st.one_of(st.integers(min_value=-(10**12), max_value=10**12), _sf_string)
_params = st.dictionaries(st.sampled_from(["created", "keyid", "nonce", "alg", "expires", "tag"]), _param_value)


@given(st.lists(_component, max_size=6), _params, st.sampled_from(["sig1", "pyhms", "a.b*c"]))
@settings(max_examples=300, deadline=None)
def test_shortcut_reads_what_the_general_parser_reads(components, params, label):
    line = ser_innerlist(([(c, {}) for c in components], params))
    field = f"{label}={line}"
    assert httpsig._slow_input(field) == (label, components, params, line)
    fast = httpsig._fast_input(field)
    assert fast is None or fast == (label, components, params, line)
    if all(not isinstance(v, str) or ("\\" not in v and '"' not in v) for v in params.values()):
        assert fast is not None  # canonical and escape-free: the shortcut takes it


def test_non_canonical_forms_go_to_the_general_parser():
    for field in (
        'sig1=("@method"  "@path");created=1',  # two spaces
        'sig1=("@method");created=01',  # leading zero
        'sig1=("@method");created=1, sig2=("@path");created=2',  # two members
        'sig1=("@method" "@path");keyid="a\\"b"',  # an escape
        'sig1=("@method");created=1;created=2',  # a repeated parameter
    ):
        assert httpsig._fast_input(field) is None, field
        label, names, params, _ = httpsig._slow_input(field)
        assert label == "sig1" and names and params
