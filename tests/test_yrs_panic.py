"""A 12-byte update that makes yrs panic (issue 20, low): `00 02 09 | 01 00 <own client id> 00
00`, a sync Update whose payload names one client section with no structs, for a client the
board already holds. yrs panics inside `BlockSet::exclude`; pyo3 raises that as a
`PanicException`, a BaseException that `except Exception` lets through, so before the fix it
left the room core and uvicorn logged "Exception in ASGI application" with a long backtrace.
Now it is a malformed update: closed 4400 with a reason, one log line, the board unharmed."""

from __future__ import annotations

import logging

import pytest
from pycrdt import Doc

from crdt import protocol
from crdt.protocol import CloseCode
from crdt.shadow import MalformedUpdate, ShadowDoc
from tests.conftest import ServerProcess
from tests.roomnet import Net
from tests.yclient import YClient, add_note

CLIENT_ID = 0x3A5F_1C2B  # a 32-bit id, as Yjs picks them: 5 bytes as a varUint
REASON = "malformed update: a client section with no structs"


def panicking_update(client_id: int) -> bytes:
    update = bytearray([1, 0])  # one client section, zero structs
    protocol.write_var_uint(update, client_id)
    update += b"\x00\x00"  # clock 0, an empty delete set
    return bytes(update)


def test_the_frame_is_twelve_bytes() -> None:
    frame = protocol.encode(protocol.Update(panicking_update(CLIENT_ID)))
    assert len(frame) == 12
    assert frame == bytes.fromhex("000209" "0100" "abb8fcd203" "0000")


def test_yrs_panics_on_it_and_the_shadow_turns_that_into_a_malformed_update() -> None:
    doc: Doc = Doc(client_id=CLIENT_ID)
    add_note("n", "x")(doc)
    with pytest.raises(BaseException) as caught:  # what the room got before the fix
        doc.apply_update(panicking_update(CLIENT_ID))
    assert type(caught.value).__name__ == "PanicException"
    assert not isinstance(caught.value, Exception)
    shadow = ShadowDoc(doc.get_update(), roots=("notes",))
    with pytest.raises(MalformedUpdate):
        shadow.apply(panicking_update(CLIENT_ID))


def test_the_room_closes_4400_and_the_board_is_unharmed(caplog: pytest.LogCaptureFixture) -> None:
    net = Net()
    eve = net.client("participant", "eve", client_id=CLIENT_ID)
    ana = net.client("participant", "ana")
    net.settle()
    eve.change(add_note("eve-1", "before"))
    net.settle()
    with caplog.at_level(logging.INFO, logger="server.live.core"):
        eve.send_raw(protocol.encode(protocol.Update(panicking_update(CLIENT_ID))))
    assert eve.closed == (CloseCode.MALFORMED, REASON)
    lines = [r for r in caplog.records if REASON in r.getMessage()]
    assert len(lines) == 1 and "participant:eve" in lines[0].getMessage()
    ana.change(add_note("ana-1", "after"))
    net.settle()
    assert set(ana.notes()) == {"eve-1", "ana-1"}
    joiner = net.client("viewer")
    net.settle()
    assert set(joiner.notes()) == {"eve-1", "ana-1"}


async def test_a_real_socket_gets_4400_and_the_server_logs_no_traceback(
    make_server: object,
) -> None:
    server: ServerProcess = make_server()  # type: ignore[operator]
    board = server.create_board()
    token = server.join(board["join_code"], "Eve")["token"]
    eve = await YClient(server.url(board["id"], token), Doc(client_id=CLIENT_ID)).connect()
    await eve.change(add_note("eve-1", "before", author="Eve"))
    await eve.send(protocol.Update(panicking_update(CLIENT_ID)))
    assert await eve.wait_closed() == CloseCode.MALFORMED
    assert eve.close_reason == REASON
    ana = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    await ana.wait_until(lambda: "eve-1" in ana.notes())
    await ana.change(add_note("ana-1", "after"))
    viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    await viewer.wait_until(lambda: {"eve-1", "ana-1"} <= set(viewer.notes()))
    for client in (ana, viewer):
        await client.close()
    server.stop()
    log = server.log_path.read_text()
    assert "Exception in ASGI application" not in log
    assert "panicked" not in log
    assert log.count(REASON) == 1
