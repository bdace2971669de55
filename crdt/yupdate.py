"""A Yjs update (v1) codec: bytes -> structs -> the same bytes. Pure: the standard library only.

pycrdt applies and merges updates but does not show what is inside one; erasure needs to change
one value of one struct and leave everything else, clocks and lengths included, as it was. So:
`decode` reads an update (or a keyframe: a full state is an update too) into `Update`, `encode`
writes it back, and `encode(decode(b)) == b` for what yrs writes (erasure checks it row by row
and refuses when it does not hold, rather than write something else).

The format (Yjs `encoding.js` / yrs `update.rs`, v1):
  update      = varUint(#clients) • client*  • delete_set
  client      = varUint(#structs) • varUint(client id) • varUint(first clock) • struct*
  struct      = info byte: low 5 bits the content kind (0 GC, 10 Skip, else an Item),
                0x80 has origin, 0x40 has right origin, 0x20 has parent sub
  GC / Skip   = varUint(length)
  Item        = [origin id] [right origin id] [parent: only without either origin —
                varUint(1) • varString(root name) | varUint(0) • id ; then varString(sub) if 0x20]
                • content
  delete_set  = varUint(#clients) • (varUint(client) • varUint(#ranges) • (clock, length)*)*
                (kept as written, read on demand: `Update.delete_set`)
  id          = varUint(client) • varUint(clock)
A value in a Map (a note's `author`) is an Item with ContentAny (kind 8): lib0 "any" values.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final, TypeAlias

GC: Final = 0
DELETED: Final = 1
JSON: Final = 2
BINARY: Final = 3
STRING: Final = 4
EMBED: Final = 5
FORMAT: Final = 6
TYPE: Final = 7
ANY: Final = 8
DOC: Final = 9
SKIP: Final = 10

HAS_ORIGIN: Final = 0x80
HAS_RIGHT_ORIGIN: Final = 0x40
HAS_PARENT_SUB: Final = 0x20
KIND_BITS: Final = 0x1F

# Shared type refs (ContentType): the ones a board can hold; XML element and hook carry a name.
TYPE_ARRAY, TYPE_MAP, TYPE_TEXT = 0, 1, 2
TYPE_XML_ELEMENT, TYPE_XML_FRAGMENT, TYPE_XML_HOOK, TYPE_XML_TEXT = 3, 4, 5, 6
_TYPE_REFS: Final = frozenset({0, 1, 2, 3, 4, 5, 6})
_NAMED_TYPE_REFS: Final = frozenset({TYPE_XML_ELEMENT, TYPE_XML_HOOK})

MAX_DEPTH: Final = 64  # nested "any" values: a hostile row cannot exhaust the stack


class CodecError(ValueError):
    """The bytes are not a v1 update this codec understands (truncated, unknown kind, ...)."""


@dataclass(frozen=True, slots=True)
class Id:
    client: int
    clock: int


# lib0 "any" values, kept exactly as written so that encoding gives the same bytes back.
class Undefined:
    """JavaScript's `undefined` (tag 127)."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = Undefined()


@dataclass(frozen=True, slots=True)
class Float32:
    value: float


@dataclass(frozen=True, slots=True)
class Float64:
    value: float


@dataclass(frozen=True, slots=True)
class BigInt:
    value: int


@dataclass(frozen=True, slots=True)
class NegativeZero:
    """A varInt 0 written with its sign bit (JavaScript -0)."""


AnyValue: TypeAlias = (
    "Undefined | bool | int | NegativeZero | Float32 | Float64 | BigInt | str | bytes"
    " | list[AnyValue] | dict[str, AnyValue] | None"
)


# ------------------------------------------------------------------ contents


@dataclass(slots=True)
class ContentDeleted:
    length: int


@dataclass(slots=True)
class ContentJson:
    values: list[str]  # each a JSON text (or "undefined"), as written


@dataclass(slots=True)
class ContentBinary:
    data: bytes


@dataclass(slots=True)
class ContentString:
    text: str


@dataclass(slots=True)
class ContentEmbed:
    json: str


@dataclass(slots=True)
class ContentFormat:
    key: str
    json: str


@dataclass(slots=True)
class ContentType:
    type_ref: int
    name: str | None = None  # XML element / hook only


@dataclass(slots=True)
class ContentAny:
    values: list[AnyValue]


@dataclass(slots=True)
class ContentDoc:
    guid: str
    options: AnyValue


Content: TypeAlias = (
    ContentDeleted
    | ContentJson
    | ContentBinary
    | ContentString
    | ContentEmbed
    | ContentFormat
    | ContentType
    | ContentAny
    | ContentDoc
)

_CONTENT_KIND: Final[dict[type, int]] = {
    ContentDeleted: DELETED,
    ContentJson: JSON,
    ContentBinary: BINARY,
    ContentString: STRING,
    ContentEmbed: EMBED,
    ContentFormat: FORMAT,
    ContentType: TYPE,
    ContentAny: ANY,
    ContentDoc: DOC,
}


# ------------------------------------------------------------------ structs


@dataclass(slots=True)
class Gc:
    id: Id
    length: int


@dataclass(slots=True)
class Skip:
    id: Id
    length: int


@dataclass(slots=True)
class Item:
    id: Id
    origin: Id | None
    right_origin: Id | None
    # Only written when the item has neither origin (else the reader takes the parent from them):
    # a root type's name, or the id of the Item whose content is the parent type.
    parent: str | Id | None
    parent_sub: str | None  # a Map key, written only with `parent`
    has_parent_sub: bool  # the info bit: set for every Map entry, written or not
    content: Content


Struct: TypeAlias = Gc | Skip | Item


@dataclass(slots=True)
class Update:
    # one list per client, in the order written; each list's clocks follow on from the first
    clients: list[tuple[int, list[Struct]]] = field(default_factory=list)
    # The delete set, as written: carried through untouched (a server's net diff repeats the
    # board's whole delete set, so reading it on every decode would cost most of the time);
    # `delete_set` reads it when asked.
    delete_set_bytes: bytes = b"\x00"

    @property
    def delete_set(self) -> list[tuple[int, list[tuple[int, int]]]]:
        """(client, [(clock, length), ...]) per client; CodecError if malformed."""
        r = _Reader(self.delete_set_bytes)
        out = []
        for _ in range(r.var_uint()):
            client = r.var_uint()
            ranges = []
            for _ in range(r.var_uint()):
                start = r.var_uint()
                ranges.append((start, r.var_uint()))
            out.append((client, ranges))
        if r.at != len(r.data):
            raise CodecError(f"{len(r.data) - r.at} bytes after the update")
        return out


def struct_length(s: Struct) -> int:
    if isinstance(s, (Gc, Skip)):
        return s.length
    return content_length(s.content)


def content_length(c: Content) -> int:
    """How many clock ticks a content takes (what the next struct's clock follows on from)."""
    if isinstance(c, ContentDeleted):
        return c.length
    if isinstance(c, ContentJson):
        return len(c.values)
    if isinstance(c, ContentAny):
        return len(c.values)
    if isinstance(c, ContentString):
        return len(c.text.encode("utf-16-le")) // 2  # Yjs counts UTF-16 code units
    return 1


# ------------------------------------------------------------------ reading


class _Reader:
    __slots__ = ("at", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise CodecError("unexpected end of update")
        b = self.data[self.at]
        self.at += 1
        return b

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise CodecError("unexpected end of update")
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def var_uint(self) -> int:
        at = self.at
        if at < len(self.data) and self.data[at] < 0x80:  # most are one byte: the fast path
            self.at = at + 1
            return self.data[at]
        n, shift = 0, 0
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7
            if shift > 70:
                raise CodecError("varUint too long")

    def var_int(self) -> int | NegativeZero:
        b = self.byte()
        n = b & 0x3F
        negative = bool(b & 0x40)
        shift = 6
        while b & 0x80:
            b = self.byte()
            n |= (b & 0x7F) << shift
            shift += 7
            if shift > 70:
                raise CodecError("varInt too long")
        if negative:
            return -n if n else NegativeZero()
        return n

    def string(self) -> str:
        raw = self.take(self.var_uint())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError("a string is not UTF-8") from exc

    def id(self) -> Id:
        client = self.var_uint()
        return Id(client, self.var_uint())

    def any(self, depth: int = 0) -> AnyValue:
        if depth > MAX_DEPTH:
            raise CodecError("value nested too deep")
        tag = self.byte()
        if tag == 127:
            return UNDEFINED
        if tag == 126:
            return None
        if tag == 125:
            return self.var_int()
        if tag == 124:
            return Float32(struct.unpack(">f", self.take(4))[0])
        if tag == 123:
            return Float64(struct.unpack(">d", self.take(8))[0])
        if tag == 122:
            return BigInt(struct.unpack(">q", self.take(8))[0])
        if tag == 121:
            return False
        if tag == 120:
            return True
        if tag == 119:
            return self.string()
        if tag == 118:
            out: dict[str, AnyValue] = {}
            for _ in range(self.var_uint()):
                key = self.string()
                if key in out:
                    raise CodecError("a map value names one key twice")
                out[key] = self.any(depth + 1)
            return out
        if tag == 117:
            return [self.any(depth + 1) for _ in range(self.var_uint())]
        if tag == 116:
            return self.take(self.var_uint())
        raise CodecError(f"unknown value tag {tag}")

    def content(self, kind: int) -> Content:
        if kind == DELETED:
            return ContentDeleted(self.var_uint())
        if kind == JSON:
            return ContentJson([self.string() for _ in range(self.var_uint())])
        if kind == BINARY:
            return ContentBinary(self.take(self.var_uint()))
        if kind == STRING:
            return ContentString(self.string())
        if kind == EMBED:
            return ContentEmbed(self.string())
        if kind == FORMAT:
            key = self.string()
            return ContentFormat(key, self.string())
        if kind == TYPE:
            ref = self.var_uint()
            if ref not in _TYPE_REFS:
                raise CodecError(f"unsupported shared type {ref}")
            return ContentType(ref, self.string() if ref in _NAMED_TYPE_REFS else None)
        if kind == ANY:
            return ContentAny([self.any() for _ in range(self.var_uint())])
        if kind == DOC:
            guid = self.string()
            return ContentDoc(guid, self.any())
        raise CodecError(f"unsupported content kind {kind}")


def decode(data: bytes) -> Update:
    """The structs and delete set of a v1 update; CodecError for anything else."""
    r = _Reader(bytes(data))
    update = Update()
    for _ in range(r.var_uint()):
        count = r.var_uint()
        client = r.var_uint()
        clock = r.var_uint()
        structs: list[Struct] = []
        for _ in range(count):
            if r.at >= len(r.data):
                raise CodecError("unexpected end of update")
            info = r.byte()
            kind = info & KIND_BITS
            sid = Id(client, clock)
            s: Struct
            if kind == GC:
                s = Gc(sid, r.var_uint())
            elif kind == SKIP:
                s = Skip(sid, r.var_uint())
            else:
                origin = r.id() if info & HAS_ORIGIN else None
                right = r.id() if info & HAS_RIGHT_ORIGIN else None
                parent: str | Id | None = None
                sub = None
                if not info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN):
                    parent = r.string() if r.var_uint() == 1 else r.id()
                    if info & HAS_PARENT_SUB:
                        sub = r.string()
                s = Item(
                    sid, origin, right, parent, sub, bool(info & HAS_PARENT_SUB), r.content(kind)
                )
            length = struct_length(s)
            if length <= 0 and not isinstance(s, Item):
                raise CodecError("a struct of length 0")
            structs.append(s)
            clock += length
        update.clients.append((client, structs))
    if r.at >= len(r.data):
        raise CodecError("unexpected end of update: no delete set")
    update.delete_set_bytes = r.data[r.at :]
    return update


# ------------------------------------------------------------------ writing


class _Writer:
    __slots__ = ("out",)

    def __init__(self) -> None:
        self.out = bytearray()

    def var_uint(self, n: int) -> None:
        if 0 <= n < 0x80:
            self.out.append(n)
            return
        if n < 0:
            raise CodecError("negative varUint")
        while n > 0x7F:
            self.out.append(0x80 | (n & 0x7F))
            n >>= 7
        self.out.append(n)

    def var_int(self, n: int | NegativeZero) -> None:
        negative = isinstance(n, NegativeZero) or n < 0
        m = 0 if isinstance(n, NegativeZero) else abs(n)
        first = (m & 0x3F) | (0x40 if negative else 0)
        m >>= 6
        self.out.append(first | (0x80 if m else 0))
        while m:
            b = m & 0x7F
            m >>= 7
            self.out.append(b | (0x80 if m else 0))

    def string(self, s: str) -> None:
        raw = s.encode("utf-8")
        self.var_uint(len(raw))
        self.out += raw

    def id(self, i: Id) -> None:
        self.var_uint(i.client)
        self.var_uint(i.clock)

    def any(self, v: AnyValue) -> None:
        if v is UNDEFINED:
            self.out.append(127)
        elif v is None:
            self.out.append(126)
        elif v is True:
            self.out.append(120)
        elif v is False:
            self.out.append(121)
        elif isinstance(v, (int, NegativeZero)):
            self.out.append(125)
            self.var_int(v)
        elif isinstance(v, Float32):
            self.out.append(124)
            self.out += struct.pack(">f", v.value)
        elif isinstance(v, Float64):
            self.out.append(123)
            self.out += struct.pack(">d", v.value)
        elif isinstance(v, BigInt):
            self.out.append(122)
            self.out += struct.pack(">q", v.value)
        elif isinstance(v, str):
            self.out.append(119)
            self.string(v)
        elif isinstance(v, dict):
            self.out.append(118)
            self.var_uint(len(v))
            for key, value in v.items():
                self.string(key)
                self.any(value)
        elif isinstance(v, list):
            self.out.append(117)
            self.var_uint(len(v))
            for value in v:
                self.any(value)
        elif isinstance(v, bytes):
            self.out.append(116)
            self.var_uint(len(v))
            self.out += v
        else:
            raise CodecError(f"cannot encode {type(v).__name__}")

    def content(self, c: Content) -> None:
        if isinstance(c, ContentDeleted):
            self.var_uint(c.length)
        elif isinstance(c, ContentJson):
            self.var_uint(len(c.values))
            for text in c.values:
                self.string(text)
        elif isinstance(c, ContentBinary):
            self.var_uint(len(c.data))
            self.out += c.data
        elif isinstance(c, ContentString):
            self.string(c.text)
        elif isinstance(c, ContentEmbed):
            self.string(c.json)
        elif isinstance(c, ContentFormat):
            self.string(c.key)
            self.string(c.json)
        elif isinstance(c, ContentType):
            self.var_uint(c.type_ref)
            if c.type_ref in _NAMED_TYPE_REFS:
                self.string(c.name or "")
        elif isinstance(c, ContentAny):
            self.var_uint(len(c.values))
            for value in c.values:
                self.any(value)
        else:
            self.string(c.guid)
            self.any(c.options)


def encode(update: Update) -> bytes:
    """The v1 bytes of `update` (each client's first clock is its first struct's)."""
    w = _Writer()
    w.var_uint(len(update.clients))
    for client, structs in update.clients:
        w.var_uint(len(structs))
        w.var_uint(client)
        w.var_uint(structs[0].id.clock if structs else 0)
        for s in structs:
            if isinstance(s, Gc):
                w.out.append(GC)
                w.var_uint(s.length)
            elif isinstance(s, Skip):
                w.out.append(SKIP)
                w.var_uint(s.length)
            else:
                info = _CONTENT_KIND[type(s.content)]
                if s.origin is not None:
                    info |= HAS_ORIGIN
                if s.right_origin is not None:
                    info |= HAS_RIGHT_ORIGIN
                if s.has_parent_sub:
                    info |= HAS_PARENT_SUB
                w.out.append(info)
                if s.origin is not None:
                    w.id(s.origin)
                if s.right_origin is not None:
                    w.id(s.right_origin)
                if s.origin is None and s.right_origin is None:
                    if isinstance(s.parent, str):
                        w.var_uint(1)
                        w.string(s.parent)
                    elif isinstance(s.parent, Id):
                        w.var_uint(0)
                        w.id(s.parent)
                    else:
                        raise CodecError("an item without origins needs a parent")
                    if s.has_parent_sub:
                        if s.parent_sub is None:
                            raise CodecError("a map entry without its key")
                        w.string(s.parent_sub)
                w.content(s.content)
    w.out += update.delete_set_bytes
    return bytes(w.out)
