"""Live boards: one board's sans-I/O core (core.py), its driver (room.py), what is settled with
the other processes (settle.py), the set of live rooms (hub.py), a connection's outbound queue
(outbox.py) and the refusal budgets (refusals.py)."""
