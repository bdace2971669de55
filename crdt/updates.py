"""What a Yjs v1 update needs and claims, read from its bytes without applying it.

The shadow doc learns what an update changes by applying it (crdt/shadow.py), and an update it
cannot take (missing dependencies, deletes of clocks nobody holds, another connection's Yjs client
id) then leaves the shadow to be rebuilt from the board: O(board) per refusal, so a client that
sends a thousand of them stalls a 10,000-note board. `precheck(update, state)` decides those three
refusals from the update's own bytes, O(update), before the shadow is touched.

Format (Yjs `UpdateDecoderV1`, lib0 encoding):
  update      = varUint(#clients) • client-structs* • delete-set
  client      = varUint(#structs) • varUint(client) • varUint(clock) • struct*
  struct      = info byte; info & 0x1f: 0 GC(len), 10 Skip(len), else an Item:
                [origin id if info & 0x80] [right origin id if info & 0x40]
                [parent (varUint 1 + root name | varUint 0 + item id) + [key if info & 0x20]
                 when neither origin is there] • content(info & 0x1f)
  delete-set  = varUint(#clients) • (varUint(client) • varUint(#ranges) • (clock, len)*)*
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crdt.protocol import ProtocolError, Reader

_GC, _SKIP = 0, 10
_MAX_NESTING = 64


@dataclass(slots=True)
class UpdateInfo:
    # client -> (first clock, end clock) of the structs this update carries for it
    sections: dict[int, tuple[int, int]] = field(default_factory=dict)
    # ids (client, clock) the update's items refer to: origins, right origins, parent items
    needs: list[tuple[int, int]] = field(default_factory=list)
    skips: bool = False  # a Skip struct: a hole in the update's own history
    # A client section with no structs: no Yjs or yrs encoder writes one, and yrs panics on
    # it (BlockSet::exclude) when the client is one the doc already holds.
    empty_section: bool = False
    deletes: list[tuple[int, int, int]] = field(default_factory=list)  # (client, clock, length)
    # Root types its items name as their parent (an update brings a new root into a doc only
    # this way: the shadow looks for new roots only when one is named here).
    roots: set[str] = field(default_factory=set)


def parse(update: bytes) -> UpdateInfo:
    """Raises ProtocolError for bytes that are not a v1 update."""
    reader = Reader(update)
    info = UpdateInfo()
    for _ in range(_count(reader)):
        structs = _count(reader)
        client = reader.var_uint()
        start = clock = reader.var_uint()
        if not structs:
            info.empty_section = True
        for _ in range(structs):
            clock += _struct(reader, info)
        if client in info.sections:
            raise ProtocolError("a client appears twice in an update")
        info.sections[client] = (start, clock)
    for _ in range(_count(reader)):
        client = reader.var_uint()
        for _ in range(_count(reader)):
            info.deletes.append((client, reader.var_uint(), reader.var_uint()))
    reader.expect_end()
    return info


def precheck(update: bytes, state: Mapping[int, int]) -> tuple[str | None, list[int]]:
    """Judge `update` against a doc whose state vector is `state`, without applying it.

    Returns (reason, writers): reason is None when the update can be integrated entirely now
    and deletes only clocks held after it; writers are the client ids it adds structs for.
    Raises ProtocolError for malformed bytes."""
    return judge(parse(update), state)


def judge(info: UpdateInfo, state: Mapping[int, int]) -> tuple[str | None, list[int]]:
    """`precheck` of an update already parsed. O(update): `state` is only looked up (a board's
    state vector holds every client it has seen, hundreds on a busy board)."""
    ahead: dict[int, int] = {}  # the clients this update moves forward: their clock after it
    writers = []
    for client, (start, end) in info.sections.items():
        known = state.get(client, 0)
        if start > known:
            return "update depends on changes the server does not have", []
        if end > known:
            ahead[client] = end
            writers.append(client)
    if info.skips:
        return "update depends on changes the server does not have", []
    for client, clock in info.needs:
        if clock >= (ahead.get(client) or state.get(client, 0)):
            return "update depends on changes the server does not have", []
    for client, clock, length in info.deletes:
        if clock + length > (ahead.get(client) or state.get(client, 0)):
            return "update deletes changes the server does not have", []
    return None, writers


def _count(reader: Reader) -> int:
    count = reader.var_uint()
    if count > len(reader.buf) - reader.pos:  # every entry takes at least one byte
        raise ProtocolError("count larger than the payload")
    return count


def _struct(reader: Reader, info: UpdateInfo) -> int:
    """Read one struct; returns its length in clocks."""
    byte = _byte(reader)
    ref = byte & 0x1F
    if ref == _GC:
        return reader.var_uint()
    if ref == _SKIP:
        info.skips = True
        return reader.var_uint()
    if byte & 0x80:
        info.needs.append((reader.var_uint(), reader.var_uint()))
    if byte & 0x40:
        info.needs.append((reader.var_uint(), reader.var_uint()))
    if not byte & 0xC0:
        if reader.var_uint() == 1:
            info.roots.add(reader.var_string())  # a root type's name
        else:
            info.needs.append((reader.var_uint(), reader.var_uint()))
        if byte & 0x20:
            reader.var_string()  # the key in the parent map
    return _content(reader, ref)


def _content(reader: Reader, ref: int) -> int:
    if ref == 1:  # deleted
        return reader.var_uint()
    if ref == 2:  # JSON strings
        count = _count(reader)
        for _ in range(count):
            reader.var_string()
        return count
    if ref == 3:  # binary
        reader.var_bytes()
        return 1
    if ref == 4:  # string: its length counts UTF-16 code units
        return len(reader.var_string().encode("utf-16-le")) // 2
    if ref == 5:  # embed
        reader.var_string()
        return 1
    if ref == 6:  # format
        reader.var_string()
        reader.var_string()
        return 1
    if ref == 7:  # a shared type
        type_ref = reader.var_uint()
        if type_ref in (3, 5):  # XmlElement, XmlHook: their name
            reader.var_string()
        return 1
    if ref == 8:  # any values
        count = _count(reader)
        for _ in range(count):
            _any(reader, 0)
        return count
    if ref == 9:  # subdocument
        reader.var_string()
        _any(reader, 0)
        return 1
    raise ProtocolError(f"unknown content type {ref}")


def _byte(reader: Reader) -> int:
    if reader.pos >= len(reader.buf):
        raise ProtocolError("truncated update")
    byte = reader.buf[reader.pos]
    reader.pos += 1
    return byte


def _skip(reader: Reader, size: int) -> None:
    if reader.pos + size > len(reader.buf):
        raise ProtocolError("truncated update")
    reader.pos += size


def _any(reader: Reader, depth: int) -> None:
    if depth > _MAX_NESTING:
        raise ProtocolError("value nested too deep")
    tag = _byte(reader)
    if tag in (127, 126, 121, 120):  # undefined, null, false, true
        return
    if tag == 125:  # signed varint
        while _byte(reader) & 0x80:
            pass
    elif tag == 124:
        _skip(reader, 4)
    elif tag in (123, 122):
        _skip(reader, 8)
    elif tag == 119:
        reader.var_string()
    elif tag == 118:
        for _ in range(_count(reader)):
            reader.var_string()
            _any(reader, depth + 1)
    elif tag == 117:
        for _ in range(_count(reader)):
            _any(reader, depth + 1)
    elif tag == 116:
        reader.var_bytes()
    else:
        raise ProtocolError(f"unknown value tag {tag}")
