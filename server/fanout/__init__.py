"""Fan-out between server processes (see base.py)."""

from redis.asyncio import Redis

from server.fanout.base import Fanout, FanoutMessage
from server.fanout.memory import MemoryBroker, MemoryFanout
from server.fanout.redis import RedisFanout


def make_fanout(redis: Redis | None) -> Fanout:
    """Over the process's Redis pool (server/scale/redis.py) if there is one, else in-process."""
    return RedisFanout(redis) if redis is not None else MemoryFanout()


__all__ = ["Fanout", "FanoutMessage", "MemoryBroker", "MemoryFanout", "RedisFanout", "make_fanout"]
