"""The HTTP edge: JSON routes by concern, one place that turns errors into JSON, one token check.

errors.py       every error -> {"error", "message"} (Starlette exception handlers)
auth.py         `authenticate()`: the one token check of HTTP, WebSocket and media
standings.py    what sockets' token checks remember of a live board (no database read per socket)
context.py      `HttpContext`: what routes share (store, rooms, signer, limiter) and their steps
inputs.py       bounded request readers: JSON bodies, query numbers, ids, visible texts
board_settings.py  settings types, public view, saving a change and mirroring it into `meta`
results.py      vote results, computed and published into the document while visible
boards.py       create a board, look a code up, join, read a board
facilitation.py settings, phase, timer, participants
votes.py        secret dots and "I disagree" marks, results
replay.py       timeline, state at a time or seq, update stream, events feed
exports.py      JSON, CSV, Markdown report, SVG
media.py        photo and voice uploads, reading them back (token, cookie, report link)
translations.py translations of notes and requests for them
privacy.py      erase a board or a person, revoke a token, rotate the link or the code
moderation.py   hide and restore a note
glossary.py     "I don't understand" flags, the glossary, explanations (issue #21)
suggestions.py  cluster suggestions and accepting one
ops.py          /healthz, /readyz, /metrics
client.py       how the web client is reached (public URL, LAN addresses), server time
security.py     security headers on every response
guard.py        uvicorn's HTTP protocol with a header timeout and a header size limit
"""
