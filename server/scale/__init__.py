"""Scale-out: what several processes serving the same boards share through Redis (`REDIS_URL`).

One connection pool per process (redis.py) serves the fan-out (server/fanout/redis.py), presence,
connection slots, claims, note quotas, refusal budgets, rate limits and translation claims; each
of these has an in-memory twin for one process. The token bucket (bucket.py) is the one rate
rule they use in-process.
"""
