"""In-process y-websocket clients for `RoomCore` (h11's connection-pair style): pycrdt docs that
talk to a core through bytes, with no socket, no task and no storage.

`Net` plays the driver: it delivers the core's effects to the clients' inboxes, commits
batches (numbering them as a store would, keeping every stored byte for inspection), and with
`link(a, b)` forwards one core's publishes to another (two processes) after settling claims
with a shared `MemoryClaims`, as server/live/room.py does with Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Map

from crdt import protocol
from crdt.board_state import BoardState
from crdt.rules import Actor
from crdt.schema import DEFAULT_SETTINGS
from server.fanout.base import FanoutMessage
from server.live.core import Effects, Peer, RoomCore
from server.live.refusals import MemoryBudgets, RefusalBudgets
from server.scale.claims import MemoryClaims, claim_writers
from server.scale.quotas import MemoryQuotas
from tests.support import own_update

Edit = Callable[[Doc], None]


class Client:
    def __init__(
        self, net: Net, actor: Actor, client_id: int | None = None, budget_key: str | None = None
    ) -> None:
        self.net = net
        self.peer = Peer(actor, budget_key)
        self.doc: Doc[Any] = Doc() if client_id is None else Doc(client_id=client_id)
        self.inbox: list[bytes] = []
        self.received: list[bytes] = []  # every frame the server sent this client
        self.denied: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.awareness: dict[int, Any] = {}
        self.synced = False

    def connect(self) -> Client:
        self.net.clients[self.peer] = self
        self.net.run(self.net.core.join(self.peer))
        self.send(protocol.SyncStep1(self.doc.get_state()))
        if self.net.claims is None:
            self.net.settle()
        return self

    def send(self, message: protocol.Message) -> None:
        self.send_raw(protocol.encode(message))

    def send_raw(self, frame: bytes) -> None:
        if self.closed is None:
            self.net.run(self.net.core.receive(self.peer, frame))

    def build(self, edit: Edit) -> bytes:
        """Edit the local doc and return the update, without sending it (to send it later,
        concurrently with others')."""
        return own_update(self.doc, edit)  # as a y-websocket provider sends it

    def change(self, edit: Edit) -> None:
        self.send(protocol.Update(self.build(edit)))

    def notes(self) -> dict[str, Any]:
        return dict(self.doc.get("notes", type=Map).to_py() or {})

    def board(self) -> dict[str, Any]:
        return {
            root: dict(self.doc.get(root, type=Map).to_py() or {})
            for root in ("notes", "clusters", "meta", "results")
        }

    def deliver(self) -> bool:
        """Handle what the server sent; True if there was anything."""
        if not self.inbox:
            return False
        frames, self.inbox = self.inbox, []
        for frame in frames:
            self.received.append(frame)
            match protocol.decode(frame):
                case protocol.SyncStep1(state_vector=sv):
                    self.send(protocol.SyncStep2(self.doc.get_update(sv)))
                case protocol.SyncStep2(update=update):
                    with self.doc.transaction(origin="remote"):
                        self.doc.apply_update(update)
                    self.synced = True
                case protocol.Update(update=update):
                    with self.doc.transaction(origin="remote"):
                        self.doc.apply_update(update)
                case protocol.Awareness(payload=payload):
                    for entry in protocol.decode_awareness(payload):
                        if entry.state is None:
                            self.awareness.pop(entry.client_id, None)
                        else:
                            self.awareness[entry.client_id] = entry.state
                case protocol.Auth(reason=reason):
                    self.denied.append(reason)
                case _:
                    pass
        return True


class Net:
    """One board on one 'process': a core, its clients, and a stand-in for the driver."""

    def __init__(
        self,
        settings: dict[str, Any] | None = None,
        instance_id: str = "A",
        claims: MemoryClaims | None = None,
        budgets: MemoryBudgets | None = None,
        quotas: MemoryQuotas | None = None,
        max_refusals: int = 10,
        refusal_budgets: RefusalBudgets | None = None,
    ) -> None:
        board = BoardState(settings={**DEFAULT_SETTINGS, **(settings or {})})
        self.core: RoomCore[Peer] = RoomCore(
            "board", board, instance_id, max_refusals, refusal_budgets
        )
        self.clients: dict[Peer, Client] = {}
        self.stored: list[bytes] = []  # every update committed, as stored
        self.published: list[FanoutMessage] = []
        self.claims = claims
        self.peers: list[Net] = []  # other processes of the same board
        self.refusals: list[tuple[Peer, str]] = []
        self.budgets = budgets  # refusal budgets shared with other processes, if any
        self.quotas = quotas  # note quotas shared with them, if any
        self._refused: dict[str, int] = {}  # budget key -> refusals not yet spent in `budgets`

    def client(self, role: str, actor_id: str | None = None, **kwargs: Any) -> Client:
        name = kwargs.pop("name", None)
        actor = Actor(role, actor_id or role, name)  # type: ignore[arg-type]
        return Client(self, actor, **kwargs).connect()

    def run(self, effects: Effects[Peer]) -> None:
        for peer, frame in effects.sends:
            self._to(peer, frame)
        for frame, exclude in effects.broadcasts:
            for peer in self.core.peers():
                if peer is not exclude:
                    self._to(peer, frame)
        for message in effects.publishes:
            self.published.append(message)
            for other in self.peers:
                other.run(other.core.receive_remote(message))
        for peer, code, reason in effects.closes:
            client = self.clients.get(peer)
            if client is not None and client.closed is None:
                client.closed = (code, reason)
                self.run(self.core.leave(peer))
        self.refusals += effects.refusals
        if self.budgets is not None:
            for peer, _ in effects.refusals:
                self._refused[peer.budget_key] = self._refused.get(peer.budget_key, 0) + 1

    def _to(self, peer: Peer, frame: bytes) -> None:
        client = self.clients.get(peer)
        if client is not None and client.closed is None:
            client.inbox.append(frame)

    async def commit_async(self) -> bool:
        """One group commit, claims settled first when this net has claims (several processes),
        and this window's refusals spent in the shared budgets (as server/live/room.py does)."""
        if self.budgets is not None and self._refused:
            refused, self._refused = self._refused, {}
            for actor_id, count in refused.items():
                if not await self.budgets.spend("board", actor_id, count):
                    self.run(self.core.cut_off(actor_id))
        batch = self.core.take_batch()
        if not batch:
            self.core.nothing_committed()
            return False
        if self.claims is not None:
            request = self.core.claims_of(batch)
            if request is not None:
                lost = await claim_writers(self.claims, "board", request.clients, request.notes)
                if lost:
                    self.run(self.core.settle(batch, lost.clients, lost.notes))
        if self.quotas is not None:
            await self._reserve_quota(batch)
        if not batch:
            self.core.nothing_committed()
            return True
        self.stored += [a.data for a in batch]
        self.run(self.core.committed(batch, len(self.stored)))
        return True

    async def _reserve_quota(self, batch: list[Any]) -> None:
        """As server/live/room.py `_reserve_quota`."""
        assert self.quotas is not None
        over: list[str] = []
        for ask in self.core.quota_asks(batch):
            over += await self.quotas.reserve("board", ask.actor_id, ask.notes, ask.limit, ask.gone)
        if over:
            self.run(self.core.over_quota(batch, over))

    def commit(self) -> bool:
        batch = self.core.take_batch()
        if not batch:
            self.core.nothing_committed()
            return False
        self.stored += [a.data for a in batch]
        self.run(self.core.committed(batch, len(self.stored)))
        return True

    def settle(self) -> None:
        """Deliver and commit until nothing moves (claims: use `settle_async`)."""
        assert self.claims is None
        while True:
            moved = any([c.deliver() for c in list(self.clients.values())])
            if not self.commit() and not moved:
                return

    async def settle_async(self) -> None:
        nets = [self, *self.peers]
        while True:
            moved = False
            for net in nets:
                moved = any([c.deliver() for c in list(net.clients.values())]) or moved
                moved = await net.commit_async() or moved
            if not moved:
                return


def two_processes() -> tuple[Net, Net]:
    """Two cores of one board, linked as by the fan-out, sharing claims, refusal budgets and
    note quotas."""
    claims, budgets, quotas = MemoryClaims(), MemoryBudgets(), MemoryQuotas()
    a = Net(instance_id="A", claims=claims, budgets=budgets, quotas=quotas)
    b = Net(instance_id="B", claims=claims, budgets=budgets, quotas=quotas)
    a.peers, b.peers = [b], [a]
    return a, b
