"""Fan-out between server processes (see base.py)."""

from server.fanout.base import Fanout, FanoutMessage
from server.fanout.memory import MemoryBroker, MemoryFanout
from server.fanout.redis import RedisFanout


def make_fanout(redis_url: str | None) -> Fanout:
    return RedisFanout(redis_url) if redis_url else MemoryFanout()


__all__ = ["Fanout", "FanoutMessage", "MemoryBroker", "MemoryFanout", "RedisFanout", "make_fanout"]
