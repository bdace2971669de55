"""The y-websocket codec: every input is a message or a ProtocolError; encode/decode round-trip."""

from __future__ import annotations

import contextlib

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt import protocol as p

messages = st.one_of(
    st.builds(p.SyncStep1, st.binary(max_size=64)),
    st.builds(p.SyncStep2, st.binary(max_size=300)),
    st.builds(p.Update, st.binary(max_size=300)),
    st.builds(p.Awareness, st.binary(max_size=100)),
    st.builds(p.Auth, st.text(max_size=50)),
    st.just(p.QueryAwareness()),
)


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_message_or_protocol_error(data: bytes) -> None:
    try:
        message = p.decode(data)
    except p.ProtocolError:
        return
    # lib0 accepts non-canonical varUints (b"\x80\x00" is 0), so compare messages, not bytes
    assert p.decode(p.encode(message)) == message


@given(messages)
def test_encode_decode_round_trip(message: p.Message) -> None:
    assert p.decode(p.encode(message)) == message


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x80",
        b"\x00",
        b"\x00\x00",
        b"\x00\x03\x00",
        b"\x00\x02\x05ab",
        b"\x09",
        b"\x02\x01\x00",
        b"\x02\x00\x02\xff\xfe",
        b"\x03\x00",
        b"\x80\x80\x80\x80\x80\x80\x80\x80\x01",
    ],
)
def test_pycrdt_sharp_edges_are_protocol_errors(frame: bytes) -> None:
    with pytest.raises(p.ProtocolError):
        p.decode(frame)


def test_auth_reason_counts_utf8_bytes_not_characters() -> None:
    frame = p.encode(p.Auth("Café — refusé"))
    assert frame[2] == len("Café — refusé".encode())
    assert p.decode(frame) == p.Auth("Café — refusé")


def test_sync_messages_match_pycrdt() -> None:
    doc = pycrdt.Doc()
    doc.get("notes", type=pycrdt.Map)["a"] = "b"
    state = doc.get_state()
    assert p.encode(p.SyncStep1(state)) == pycrdt.create_sync_message(doc)
    update = doc.get_update()
    assert p.encode(p.Update(update)) == pycrdt.create_update_message(update)
    assert p.decode_state_vector(state) == {doc.client_id: 1}


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**32),
            st.integers(0, 2**40),
            st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5))),
        )
    )
)
def test_awareness_round_trip(entries: list[tuple[int, int, object]]) -> None:
    states = [p.AwarenessState(c, k, s) for c, k, s in entries]
    assert p.decode_awareness(p.encode_awareness(states)) == states


@given(st.binary(max_size=100))
def test_awareness_and_state_vector_garbage_is_protocol_error(data: bytes) -> None:
    for parse in (p.decode_awareness, p.decode_state_vector):
        with contextlib.suppress(p.ProtocolError):
            parse(data)


def _reference_state_vector(data: bytes) -> dict[int, int]:
    """The straightforward decoder (one Reader call per varUint) the fast one must equal."""
    reader = p.Reader(data)
    count = reader.var_uint()
    if count > len(data):
        raise p.ProtocolError("state vector entry count larger than the payload")
    vector = {}
    for _ in range(count):
        client = reader.var_uint()
        vector[client] = reader.var_uint()
    reader.expect_end()
    return vector


@settings(max_examples=500)
@given(
    st.dictionaries(st.integers(0, 2**32 - 1), st.integers(0, 2**40), max_size=30),
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255))),
)
def test_the_fast_state_vector_decoder_equals_the_reference(
    vector: dict[int, int], damage: list[tuple[int, int, int]]
) -> None:
    out = bytearray()
    p.write_var_uint(out, len(vector))
    for client, clock in vector.items():
        p.write_var_uint(out, client)
        p.write_var_uint(out, clock)
    for op, where, byte in damage:  # deletions, insertions, replacements anywhere
        at = where % (len(out) + 1)
        if op == 0 and at < len(out):
            del out[at]
        elif op == 1:
            out.insert(at, byte)
        elif at < len(out):
            out[at] = byte
    outcomes = []
    for decode in (_reference_state_vector, p.decode_state_vector):
        try:
            outcomes.append(decode(bytes(out)))
        except p.ProtocolError:
            outcomes.append("error")
    assert outcomes[0] == outcomes[1]
    if not damage:
        assert outcomes[1] == vector
