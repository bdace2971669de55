"""The glossary (issue #21) over a real server: "I don't understand" flags, explanations, the
rules of who writes what, and that nobody who flagged is named anywhere."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pycrdt import Map

from crdt import glossary
from tests.conftest import ServerProcess
from tests.support import poll_until
from tests.test_translate import FakeLibreTranslate
from tests.yclient import YClient, add_note

NOTE = "Sans leefloon, l'épicerie sociale du CPAS aide"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def terms(client: YClient) -> dict[str, Any]:
    """The glossary as a client's document holds it, each term with its count of flags."""
    counts = glossary.flag_counts(client.doc.get("glossary_flags", type=Map).to_py() or {})
    entries = client.doc.get("glossary", type=Map).to_py() or {}
    return {key: {**value, "flags": counts.get(key, 0)} for key, value in entries.items()}


def explanation(client: YClient, term: str, lang: str) -> dict[str, Any] | None:
    entry = terms(client).get(glossary.term_id(term)) or {}
    found = (entry.get("explanations") or {}).get(lang)
    return dict(found) if isinstance(found, dict) else None


async def test_flags_count_each_person_once_and_name_nobody(server: ServerProcess) -> None:
    board = server.create_board(title="Quartier")
    code = board["join_code"]
    author = server.join(code, name="Lotte", lang="nl")
    awa = server.join(code, name="Awa Diallo", lang="fr")
    sam = server.join(code, name="Sam Peeters", lang="en")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    base = f"/api/boards/{board['id']}/glossary"
    try:
        await writer.change(add_note("n1", NOTE, lang="fr"))
        await viewer.wait_until(lambda: "n1" in viewer.notes())
        async with httpx.AsyncClient(base_url=server.http) as http:
            flag = {"note_id": "n1", "term": "Leefloon"}
            r = await http.post(f"{base}/flags", json=flag, headers=auth(awa["token"]))
            assert r.status_code == 200, r.text
            term_id = glossary.term_id("leefloon")
            assert r.json() == {"term_id": term_id, "term": "Leefloon", "flags": 1}
            # The same person again: nothing changes. Another person: 2.
            r = await http.post(f"{base}/flags", json=flag, headers=auth(awa["token"]))
            assert r.json()["flags"] == 1
            flag2 = {"note_id": "n1", "term": "leefloon"}  # same word, other case
            r = await http.post(f"{base}/flags", json=flag2, headers=auth(sam["token"]))
            assert r.json() == {"term_id": term_id, "term": "leefloon", "flags": 2}
            await viewer.wait_until(lambda: terms(viewer).get(term_id, {}).get("flags") == 2)
            # Accents and case do not matter; whole words only.
            r = await http.post(
                f"{base}/flags",
                json={"note_id": "n1", "term": "EPICERIE sociale"},
                headers=auth(sam["token"]),
            )
            assert r.status_code == 200, r.text
            # Bad input, each with its reason.
            bad = [
                ({"note_id": "n1", "term": "leef"}, 422, "term_not_in_note"),
                ({"note_id": "n1", "term": "pizza"}, 422, "term_not_in_note"),
                ({"note_id": "n1", "term": "x" * 61}, 422, "bad_term"),
                ({"note_id": "n1", "term": "\u200b\u200b"}, 422, "bad_term"),
                ({"note_id": "n1", "term": ""}, 422, "bad_term"),
                ({"note_id": "n1", "term": 3}, 422, "bad_term"),
                ({"note_id": "zz", "term": "CPAS"}, 404, "unknown_note"),
            ]
            for body, status, error in bad:
                r = await http.post(f"{base}/flags", json=body, headers=auth(awa["token"]))
                assert (r.status_code, r.json()["error"]) == (status, error), body
            r = await http.post(f"{base}/flags", json=flag, headers=auth(board["viewer_token"]))
            assert r.status_code == 403
            # Everyone with a token reads the glossary: counts, never who.
            r = await http.get(base, headers=auth(board["viewer_token"]))
            assert r.status_code == 200
            listed = r.json()["terms"]
            assert [(t["term"], t["flags"]) for t in listed] == [
                ("Leefloon", 2),
                ("EPICERIE sociale", 1),
            ]
            assert listed[0] == {
                "id": term_id,
                "term": "Leefloon",
                "lang": "fr",
                "flags": 2,
                "explanations": {},
            }
            # Nobody who flagged is named: not in the document, in any frame the viewer got, in
            # the glossary, the exports or the replay.
            fac = auth(board["facilitator_token"])
            seen: list[bytes] = [writer.doc.get_update(), *viewer.received, r.content]
            paths = ("export.json", "export.csv", "export.md", "replay/events", "replay/updates")
            for path in paths:
                got = await http.get(f"/api/boards/{board['id']}/{path}", headers=fac)
                assert got.status_code == 200, path
                seen.append(got.content)
            for person, name in ((awa, "Awa Diallo"), (sam, "Sam Peeters")):
                for secret in (person["participant_id"], name):
                    for data in seen:
                        assert secret.encode() not in data, secret
    finally:
        await writer.close()
        await viewer.close()


async def test_explanations_own_yours_facilitator_all_viewer_nothing(
    server: ServerProcess,
) -> None:
    board = server.create_board()
    code = board["join_code"]
    author = server.join(code, name="Lotte", lang="nl")
    other = server.join(code, name="Bob", lang="nl")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    intruder = await YClient(server.url(board["id"], other["token"])).connect()
    base = f"/api/boards/{board['id']}/glossary"
    fac = auth(board["facilitator_token"])
    try:
        await writer.change(add_note("n1", "Mijn leefloon is te laag", lang="nl"))
        await intruder.wait_until(lambda: "n1" in intruder.notes())
        async with httpx.AsyncClient(base_url=server.http) as http:
            r = await http.post(
                f"{base}/flags",
                json={"note_id": "n1", "term": "leefloon"},
                headers=auth(other["token"]),
            )
            term_id = r.json()["term_id"]
            url = f"{base}/{term_id}/explanations/nl"
            words = {"text": "Geld van het OCMW om van te leven", "example": "Ik krijg 1.200 euro"}
            r = await http.put(url, json=words, headers=auth(author["token"]))
            assert r.status_code == 200, r.text
            mine = {**words, "machine": False, "by": author["participant_id"]}
            assert r.json() == {"term_id": term_id, "lang": "nl", **mine}
            await intruder.wait_until(lambda: explanation(intruder, "leefloon", "nl") == mine)
            # Another participant cannot rewrite it, over HTTP...
            r = await http.put(url, json={"text": "Fout"}, headers=auth(other["token"]))
            assert (r.status_code, r.json()["error"]) == (403, "not_yours")

            # ...nor in the document: undone, with the reason.
            def rewrite(doc: Any) -> None:
                entry = doc.get("glossary", type=Map)[term_id]
                entry["explanations"]["nl"] = {"text": "Fout", "machine": False}

            await intruder.change(rewrite)
            await intruder.wait_until(lambda: bool(intruder.denied))
            assert intruder.denied == [
                "glossary explanations are written with "
                "PUT /api/boards/{id}/glossary/{term}/explanations/{lang}"
            ]
            await intruder.wait_until(lambda: explanation(intruder, "leefloon", "nl") == mine)
            # Its author edits it; the facilitator edits anyone's; a viewer nothing.
            r = await http.put(url, json={"text": "Een inkomen"}, headers=auth(author["token"]))
            assert r.status_code == 200
            r = await http.put(url, json={"text": "Leefgeld van het OCMW"}, headers=fac)
            assert r.status_code == 200
            assert r.json()["by"] == "facilitator"
            r = await http.put(url, json={"text": "x"}, headers=auth(board["viewer_token"]))
            assert r.status_code == 403
            # Another language is a free slot for anyone.
            en = f"{base}/{term_id}/explanations/en"
            r = await http.put(en, json={"text": "Basic income"}, headers=auth(other["token"]))
            assert r.status_code == 200
            # The facilitator may write in the document directly; a participant cannot take
            # that one over through HTTP either.
            host = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
            try:

                def by_hand(doc: Any) -> None:
                    entry = doc.get("glossary", type=Map)[term_id]
                    entry["explanations"]["fr"] = {
                        "text": "Revenu d'intégration",
                        "machine": False,
                        "by": "facilitator",
                    }

                await host.change(by_hand)
                await writer.wait_until(lambda: explanation(writer, "leefloon", "fr") is not None)
                assert host.denied == []
            finally:
                await host.close()
            fr = f"{base}/{term_id}/explanations/fr"
            r = await http.put(fr, json={"text": "Mon texte"}, headers=auth(other["token"]))
            assert (r.status_code, r.json()["error"]) == (403, "not_yours")
            # Bounds and bad input.
            bad = [
                (url, {"text": "x" * 601}, 422, "bad_text"),
                (url, {"text": "ok", "example": "x" * 201}, 422, "bad_example"),
                (f"{base}/{term_id}/explanations/de", {"text": "x"}, 422, "bad_lang"),
                (f"{base}/tnope/explanations/nl", {"text": "x"}, 404, "unknown_term"),
            ]
            for path, body, status, error in bad:
                r = await http.put(path, json=body, headers=auth(author["token"]))
                assert (r.status_code, r.json()["error"]) == (status, error), body
            # Removing one's own (empty text) frees the slot.
            r = await http.put(en, json={"text": ""}, headers=auth(other["token"]))
            assert r.status_code == 200
            await writer.wait_until(lambda: explanation(writer, "leefloon", "en") is None)
            r = await http.put(en, json={"text": "Income"}, headers=auth(author["token"]))
            assert r.status_code == 200
            # Afterwards: the report, the exports and the replay feed hold the glossary.
            board_url = f"/api/boards/{board['id']}"
            got = (await http.get(f"{board_url}/export.json", headers=fac)).json()
            assert got["glossary"] == [
                {
                    "id": term_id,
                    "term": "leefloon",
                    "lang": "nl",
                    "flags": 1,
                    "explanations": {
                        "nl": {
                            "text": "Leefgeld van het OCMW",
                            "machine": False,
                            "by": "facilitator",
                        },
                        "en": {"text": "Income", "machine": False, "by": author["participant_id"]},
                        "fr": {
                            "text": "Revenu d'intégration",
                            "machine": False,
                            "by": "facilitator",
                        },
                    },
                }
            ]
            md = (await http.get(f"{board_url}/export.md?lang=nl", headers=fac)).text
            assert (
                "## Woordenlijst: woorden die mensen tegenhielden\n\n"
                "- “leefloon” (nl) — 1 persoon vroeg het\n"
                "  - nl: Leefgeld van het OCMW\n"
                "  - fr: Revenu d'intégration\n"
                "  - en: Income\n"
            ) in md
            got_csv = await http.get(f"{base}/export.csv?lang=en", headers=fac)
            assert got_csv.text.splitlines() == [
                "\ufeffterm,language,asked,explanation_language,explanation,machine,example",
                "leefloon,nl,1,fr,Revenu d'intégration,0,",
                "leefloon,nl,1,nl,Leefgeld van het OCMW,0,",
                "leefloon,nl,1,en,Income,0,",
            ]
            r = await http.get(f"{base}/export.csv", headers=auth(author["token"]))
            assert r.status_code == 403

            async def feed() -> list[dict[str, Any]]:
                page = await http.get(f"{board_url}/replay/events", headers=fac)
                return [e for e in page.json()["events"] if e["kind"] in ("flagged", "explained")]

            await poll_until(lambda: _count_at_least(feed, 7))
            events = await feed()
            assert [(e["kind"], e["term"]) for e in events] == [
                ("flagged", "leefloon"),
                ("explained", "leefloon"),
                ("explained", "leefloon"),
                ("explained", "leefloon"),
                ("explained", "leefloon"),
                ("explained", "leefloon"),
                ("explained", "leefloon"),
            ]
            assert other["participant_id"] not in str(events[0])
    finally:
        await writer.close()
        await intruder.close()


async def test_explanations_are_machine_translated_never_over_a_person(
    make_server: Any,
) -> None:
    fake = FakeLibreTranslate()
    try:
        server = make_server(COBORD_TRANSLATE_URL=fake.url)
        board = server.create_board()
        author = server.join(board["join_code"], name="Lotte", lang="nl")
        reader = server.join(board["join_code"], name="Sam", lang="en")
        client = await YClient(server.url(board["id"], reader["token"])).connect()
        base = f"/api/boards/{board['id']}/glossary"
        try:
            writer = await YClient(server.url(board["id"], author["token"])).connect()
            await writer.change(add_note("n1", "Mijn leefloon", lang="nl"))
            await writer.close()
            await client.wait_until(lambda: "n1" in client.notes())
            async with httpx.AsyncClient(base_url=server.http) as http:
                body = {"note_id": "n1", "term": "leefloon"}
                r = await http.post(f"{base}/flags", json=body, headers=auth(reader["token"]))
                term_id = r.json()["term_id"]
                # A person's French one is there first: the machine never replaces it.
                fr = {"text": "Revenu d'intégration"}
                r = await http.put(
                    f"{base}/{term_id}/explanations/fr", json=fr, headers=auth(reader["token"])
                )
                await client.wait_until(
                    lambda: (
                        explanation(client, "leefloon", "nl")
                        == {
                            "text": "[nl] Revenu d'intégration",
                            "machine": True,
                            "by": "machine",
                        }
                    )
                )
                # The example goes the same path as the text: translated, marked machine.
                r = await http.put(
                    f"{base}/{term_id}/explanations/nl",
                    json={"text": "Geld om van te leven", "example": "Ik krijg het sinds maart"},
                    headers=auth(author["token"]),
                )
                assert r.status_code == 200
                await client.wait_until(
                    lambda: (
                        explanation(client, "leefloon", "en")
                        == {
                            "text": "[en] Geld om van te leven",
                            "example": "[en] Ik krijg het sinds maart",
                            "machine": True,
                            "by": "machine",
                        }
                    )
                )
                held = explanation(client, "leefloon", "fr")
                assert held is not None and held["text"] == "Revenu d'intégration"
                assert held["machine"] is False
        finally:
            await client.close()
    finally:
        fake.stop()


async def test_flags_past_the_rate_get_429(make_server: Any) -> None:
    server = make_server(COBORD_GLOSSARY_PER_MINUTE="1", COBORD_GLOSSARY_BURST="2")
    board = server.create_board()
    person = server.join(board["join_code"], name="Awa")
    writer = await YClient(server.url(board["id"], person["token"])).connect()
    viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    try:
        await writer.change(add_note("n1", "CPAS et OCMW et leefloon", lang="fr"))
        await viewer.wait_until(lambda: "n1" in viewer.notes())
        base = f"/api/boards/{board['id']}/glossary/flags"
        async with httpx.AsyncClient(base_url=server.http) as http:
            statuses = []
            for word in ("CPAS", "OCMW", "leefloon"):
                body = {"note_id": "n1", "term": word}
                r = await http.post(base, json=body, headers=auth(person["token"]))
                statuses.append(r.status_code)
            assert statuses == [200, 200, 429]
            assert r.json()["error"] == "rate_limited"
            assert "Retry-After" in r.headers
    finally:
        await writer.close()
        await viewer.close()


async def _count_at_least(feed: Any, n: int) -> bool:
    return len(await feed()) >= n


async def test_on_an_anonymous_board_explanations_carry_no_name(server: ServerProcess) -> None:
    board = server.create_board()
    fac = auth(board["facilitator_token"])
    base = f"/api/boards/{board['id']}"
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.patch(f"{base}/settings", json={"anonymous": True}, headers=fac)
        assert r.status_code == 200, r.text
        person = server.join(board["join_code"], name="Awa Diallo", lang="fr")
        writer = await YClient(server.url(board["id"], person["token"])).connect()
        viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
        try:
            await writer.change(add_note("n1", "Le CPAS aide", lang="fr"))
            await viewer.wait_until(lambda: "n1" in viewer.notes())
            body = {"note_id": "n1", "term": "CPAS"}
            r = await http.post(f"{base}/glossary/flags", json=body, headers=auth(person["token"]))
            term_id = r.json()["term_id"]
            r = await http.put(
                f"{base}/glossary/{term_id}/explanations/fr",
                json={"text": "Le centre public d'action sociale"},
                headers=auth(person["token"]),
            )
            assert r.json() == {
                "term_id": term_id,
                "lang": "fr",
                "text": "Le centre public d'action sociale",
                "machine": False,
            }
            await viewer.wait_until(lambda: explanation(viewer, "CPAS", "fr") is not None)
            assert explanation(viewer, "CPAS", "fr") == {
                "text": "Le centre public d'action sociale",
                "machine": False,
            }
            exported = await http.get(f"{base}/export.json", headers=fac)
            seen = [viewer.doc.get_update(), *viewer.received, exported.content]
            for secret in (person["participant_id"], "Awa Diallo"):
                assert not any(secret.encode() in data for data in seen), secret
        finally:
            await writer.close()
            await viewer.close()


async def test_flags_on_two_processes_at_once_all_count(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    """Twenty people flag one word at the same moment, half through each process (PostgreSQL +
    Redis): every screen, on either process, ends on 20, and so does the API."""
    first, second = two
    board = first.create_board(title="Quartier")
    people = [first.join(board["join_code"], name=f"P{i}", lang="fr") for i in range(20)]
    author = first.join(board["join_code"], name="Lotte", lang="nl")
    writer = await YClient(first.url(board["id"], author["token"])).connect()
    viewers = [
        await YClient(server.url(board["id"], board["viewer_token"])).connect()
        for server in (first, second)
    ]
    term_id = glossary.term_id("leefloon")
    try:
        await writer.change(add_note("n1", NOTE, lang="fr"))
        for viewer in viewers:
            await viewer.wait_until(lambda v=viewer: "n1" in v.notes())
        flag = {"note_id": "n1", "term": "leefloon"}
        path = f"/api/boards/{board['id']}/glossary/flags"
        # A bound of 30 s per request, not httpx's 5 s: the twenty at once on a loaded machine
        # (two processes, PostgreSQL, Redis, other tests beside them) timed out twice at 5 s.
        async with (
            httpx.AsyncClient(base_url=first.http, timeout=30) as one,
            httpx.AsyncClient(base_url=second.http, timeout=30) as other,
        ):
            async def twenty_at_once(body: dict[str, Any], odd: httpx.AsyncClient) -> None:
                """Each person flags once, half through each process: counts 1..20, none lost."""
                even = other if odd is one else one
                answers = await asyncio.gather(
                    *(
                        (odd if i % 2 else even).post(path, json=body, headers=auth(p["token"]))
                        for i, p in enumerate(people)
                    )
                )
                assert [r.status_code for r in answers] == [200] * 20
                assert sorted(r.json()["flags"] for r in answers) == list(range(1, 21))

            await twenty_at_once(flag, one)
            for viewer in viewers:
                await viewer.wait_until(
                    lambda v=viewer: terms(v).get(term_id, {}).get("flags") == 20
                )
            # Each process counted under its own key (two processes sharing one key overwrite
            # each other's counts: a board showed 18 of 20).
            keys = viewers[0].doc.get("glossary_flags", type=Map).to_py() or {}
            assert len({key.rpartition("@")[2] for key in keys}) == 2, keys
            for http in (one, other):
                listed = (
                    await http.get(path.rsplit("/", 1)[0], headers=auth(author["token"]))
                ).json()
                assert [(t["id"], t["flags"]) for t in listed["terms"]] == [(term_id, 20)]
            # "The whole note" is counted the same way: 20 at once over both processes, 20.
            whole = {"note_id": "n1", "whole_note": True}
            await twenty_at_once(whole, other)
            for viewer in viewers:
                await viewer.wait_until(
                    lambda v=viewer: (
                        glossary.note_flag_counts(v.doc.get("glossary_flags", type=Map).to_py())
                        == {"n1": 20}
                    )
                )
    finally:
        for client in (writer, *viewers):
            await client.close()


async def test_the_whole_note_of_any_length_is_flagged_once_per_person_naming_nobody(
    server: ServerProcess,
) -> None:
    """ "I don't understand the whole note" on a note far past a term's 60 characters: a
    note-level count, once per person, in the document for the author and the facilitator to
    see, a "note_flagged" event in the replay, and nobody who asked named anywhere."""
    board = server.create_board()
    code = board["join_code"]
    author = server.join(code, name="Lotte", lang="nl")
    awa = server.join(code, name="Awa Diallo", lang="fr")
    sam = server.join(code, name="Sam Peeters", lang="en")
    long_note = "Het OCMW vraagt een sociaal onderzoek voor het leefloon, " * 4
    assert len(long_note) > glossary.MAX_TERM_CHARS
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    base = f"/api/boards/{board['id']}/glossary"
    try:
        await writer.change(add_note("n1", long_note, lang="nl"))
        async with httpx.AsyncClient(base_url=server.http) as http:
            # Before this change, the whole of a long note could only go as a term: refused.
            as_term = {"note_id": "n1", "term": long_note.strip()}
            r = await http.post(f"{base}/flags", json=as_term, headers=auth(awa["token"]))
            assert (r.status_code, r.json()["error"]) == (422, "bad_term")
            whole = {"note_id": "n1", "whole_note": True}
            r = await http.post(f"{base}/flags", json=whole, headers=auth(awa["token"]))
            assert r.status_code == 200, r.text
            assert r.json() == {"note_id": "n1", "whole_note": True, "flags": 1}
            r = await http.post(f"{base}/flags", json=whole, headers=auth(awa["token"]))
            assert r.json()["flags"] == 1  # the same person again changes nothing
            r = await http.post(f"{base}/flags", json=whole, headers=auth(sam["token"]))
            assert r.json()["flags"] == 2

            def counted() -> dict[str, int]:
                entries = writer.doc.get("glossary_flags", type=Map).to_py() or {}
                return glossary.note_flag_counts(entries)

            await writer.wait_until(lambda: counted() == {"n1": 2})
            bad = [
                ({"note_id": "zz", "whole_note": True}, 404, "unknown_note"),
                ({"note_id": "n1", "whole_note": "yes"}, 422, "bad_flag"),
                ({"note_id": "n1", "whole_note": True, "term": "leefloon"}, 422, "bad_flag"),
            ]
            for body, status, error in bad:
                r = await http.post(f"{base}/flags", json=body, headers=auth(awa["token"]))
                assert (r.status_code, r.json()["error"]) == (status, error), body
            r = await http.post(f"{base}/flags", json=whole, headers=auth(board["viewer_token"]))
            assert r.status_code == 403
            # Not a term: the glossary lists none.
            r = await http.get(base, headers=auth(board["viewer_token"]))
            assert r.json() == {"terms": []}
            fac = auth(board["facilitator_token"])
            flagged: list[dict[str, Any]] = []

            async def decoded() -> bool:  # events are decoded a moment after their commit
                got = await http.get(f"/api/boards/{board['id']}/replay/events", headers=fac)
                events = got.json()["events"]
                flagged[:] = [e for e in events if e["kind"] == "note_flagged"]
                return len(flagged) >= 2

            await poll_until(decoded)
            assert [(e["note_id"], e["actor"]) for e in flagged] == [("n1", "server")] * 2
            # Afterwards: the exports count it (never who).
            exported = await http.get(f"/api/boards/{board['id']}/export.json", headers=fac)
            assert exported.json()["notes_not_understood"] == {"n1": 2}
            md = await http.get(f"/api/boards/{board['id']}/export.md?lang=en", headers=fac)
            assert "## Notes people did not understand\n\n" in md.text
            assert f"- “{long_note.strip()}” — 2 people did not understand it\n" in md.text
            md = await http.get(f"/api/boards/{board['id']}/export.md?lang=nl", headers=fac)
            assert f"- “{long_note.strip()}” — 2 personen begrepen ze niet\n" in md.text
            seen: list[bytes] = [writer.doc.get_update(), *writer.received]
            for path in ("export.json", "export.csv", "export.md", "replay/events"):
                got = await http.get(f"/api/boards/{board['id']}/{path}", headers=fac)
                assert got.status_code == 200, path
                seen.append(got.content)
            for person, name in ((awa, "Awa Diallo"), (sam, "Sam Peeters")):
                for secret in (person["participant_id"], name):
                    for data in seen:
                        assert secret.encode() not in data, secret
    finally:
        await writer.close()


async def test_a_voice_note_or_a_bare_photo_is_flagged_whole_and_named_by_its_kind(
    server: ServerProcess,
) -> None:
    """A voice note and a photo without caption have no words: a term cannot be flagged in
    them, the whole note can (once per person), and the report names them by what they are, in
    its language, where a note with text is quoted."""
    board = server.create_board()
    code = board["join_code"]
    author = server.join(code, name="Awa", lang="fr")
    sam = server.join(code, name="Sam", lang="en")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    base = f"/api/boards/{board['id']}/glossary"
    fac = auth(board["facilitator_token"])
    try:
        await writer.change(add_note("v1", "", kind="voice", media="m-voice", duration=11.6))
        await writer.change(add_note("p1", "", kind="photo", media="m-photo"))
        async with httpx.AsyncClient(base_url=server.http) as http:
            as_term = {"note_id": "v1", "term": "note"}
            r = await http.post(f"{base}/flags", json=as_term, headers=auth(sam["token"]))
            assert (r.status_code, r.json()["error"]) == (422, "term_not_in_note")
            for note_id in ("v1", "p1"):
                whole = {"note_id": note_id, "whole_note": True}
                for _ in range(2):  # the same person twice counts once
                    r = await http.post(f"{base}/flags", json=whole, headers=auth(sam["token"]))
                    assert r.status_code == 200, r.text
                    assert r.json() == {"note_id": note_id, "whole_note": True, "flags": 1}

            def counted() -> dict[str, int]:
                entries = writer.doc.get("glossary_flags", type=Map).to_py() or {}
                return glossary.note_flag_counts(entries)

            await writer.wait_until(lambda: counted() == {"v1": 1, "p1": 1})
            exported = await http.get(f"/api/boards/{board['id']}/export.json", headers=fac)
            assert exported.json()["notes_not_understood"] == {"p1": 1, "v1": 1}
            expected = {
                "fr": (
                    "- note vocale, 12 s — 1 personne ne l’a pas comprise\n",
                    "- photo sans légende — 1 personne ne l’a pas comprise\n",
                ),
                "nl": (
                    "- spraaknotitie, 12 s — 1 persoon begreep ze niet\n",
                    "- foto zonder bijschrift — 1 persoon begreep ze niet\n",
                ),
                "en": (
                    "- voice note, 12 s — 1 person did not understand it\n",
                    "- photo without caption — 1 person did not understand it\n",
                ),
            }
            for lang, lines in expected.items():
                md = await http.get(f"/api/boards/{board['id']}/export.md?lang={lang}", headers=fac)
                section = md.text.split("\n## ")[-1]
                for line in lines:
                    assert line in section, (lang, section)
                assert "“”" not in section and "(voice)" not in section
    finally:
        await writer.close()
