"""Scale-out: what several processes serving the same boards share through Redis (`REDIS_URL`).

redis.py: the process's one connection pool, used by the fan-out (server/fanout/redis.py) and by
everything here. claims.py: first come, first owned (a room's client ids and note ids, the
translator's notes). quotas.py: a participant's note quota. slots.py: sockets per token, address
and board. presence.py: who is online. bucket.py: the token bucket, in one process and shared
(socket messages, HTTP rate limits in limits.py, refusal budgets, translation budgets). Each
shared thing has an in-memory twin for one process and one contract test for both.
"""
