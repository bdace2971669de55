"""Exports on a fixed scenario, against hand-written expected content; and the endpoints' access.

The scenario: four participants in two groups (Dirk neither posts nor votes), three notes (one a
formula-injection attempt), one cluster, five votes. By hand: n1 is dotted by everyone who voted
(consensus 100 %), n3 only by the researcher (divisive), n2 by half of the residents' voters.
"""

from __future__ import annotations

import csv
import io
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

import httpx
from pycrdt import Map

from crdt import report
from crdt.results import compute_results
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

GROUPS = ["habitant·e", "chercheur·e"]
PEOPLE = [
    report.Person("pa", "Ana", "habitant·e"),
    report.Person("pb", "Ben", "habitant·e"),
    report.Person("pc", "Chloé", "chercheur·e"),
    report.Person("pd", "Dirk", "chercheur·e"),
]
EVIL = '=HYPERLINK("http://evil.example","clic")'
NOTES: dict[str, Any] = {
    "n1": {"text": "Un potager partagé", "x": 0.0, "y": 0.0, "color": "yellow", "cluster": "c1"},
    "n2": {"text": EVIL, "x": 300.0, "y": 0.0, "color": "pink", "cluster": None},
    "n3": {
        "text": "Des bancs à l'ombre",
        "x": 0.0,
        "y": 150.0,
        "color": "yellow",
        "cluster": "c1",
    },
}
CLUSTERS = {"c1": {"title": "Nature & parc", "x": 0.0, "y": -60.0, "color": "#5b6cff"}}
VOTES = [("pa", "n1", 1), ("pb", "n1", 1), ("pb", "n2", 1), ("pc", "n1", 1), ("pc", "n3", 2)]
T0 = 1764590400.0  # 2025-12-01 12:00 UTC
RESULTS = compute_results([(p.id, p.group) for p in PEOPLE], VOTES, NOTES, CLUSTERS, GROUPS)
DATA = report.ReportInput(
    title="Parc du Quartier",
    created_at=T0,
    anonymous=False,
    people=PEOPLE,
    board={"notes": NOTES, "clusters": CLUSTERS},
    authors={"n1": "pa", "n2": "pb", "n3": "pc"},
    votes=VOTES,
    results=RESULTS,
    phases=[(T0 + 60, "ideate"), (T0 + 1800, "cluster"), (T0 + 3000, "vote")],
)

EXPECTED_EN = """\
# Report: Parc du Quartier

Date: 2025-12-01

## Participants per group

- habitant·e: 2 people
- chercheur·e: 2 people

## Clusters, those chosen in every group first

“Chosen by at least X % in every group”: in each group that voted, at least that share of its voters gave the idea a dot.

### Nature & parc — 5 dots, chosen by at least 100% of the voters in every group

- Un potager partagé (3 dots, by Ana)
- Des bancs à l'ombre (2 dots, by Chloé)

### Ideas outside clusters

- =HYPERLINK("http://evil.example","clic") (1 dot, by Ben)

## Ideas: dots and support per group

1. Un potager partagé — 3 dots, chosen by at least 100% of the voters in every group
   - habitant·e: 2 dots, 100% of its voters
   - chercheur·e: 1 dot, 100% of its voters
2. Des bancs à l'ombre — 2 dots, not chosen in every group
   - habitant·e: 0 dots, 0% of its voters
   - chercheur·e: 2 dots, 100% of its voters
3. =HYPERLINK("http://evil.example","clic") — 1 dot, not chosen in every group
   - habitant·e: 1 dot, 50% of its voters
   - chercheur·e: 0 dots, 0% of its voters

## Ideas every group backs

- Un potager partagé (3 dots, by Ana)

## Divisive ideas

- Des bancs à l'ombre (2 dots, by Chloé)

## Participation per group

- habitant·e: 2 people, 2 notes, 3 dots; 0 did not contribute
- chercheur·e: 2 people, 1 note, 3 dots; 1 did not contribute

## Timeline of the phases

- 12:01 Ideas
- 12:30 Clustering
- 12:50 Voting

Times are UTC.
"""

EXPECTED_FR = """\
# Rapport : Parc du Quartier

Date : 2025-12-01

## Participant·es par groupe

- habitant·e : 2 personnes
- chercheur·e : 2 personnes

## Groupes d'idées, ceux choisis dans tous les groupes d'abord

« Choisie par au moins X % de chaque groupe » : dans chaque groupe qui a voté, au moins cette part de ses votant·es a donné un point à l'idée.

### Nature & parc — 5 points, choisie par au moins 100 % des votant·es de chaque groupe

- Un potager partagé (3 points, par Ana)
- Des bancs à l'ombre (2 points, par Chloé)

### Idées hors des groupes d'idées

- =HYPERLINK("http://evil.example","clic") (1 point, par Ben)

## Idées : points et soutien par groupe

1. Un potager partagé — 3 points, choisie par au moins 100 % des votant·es de chaque groupe
   - habitant·e : 2 points, 100 % de ses votant·es
   - chercheur·e : 1 point, 100 % de ses votant·es
2. Des bancs à l'ombre — 2 points, pas choisie dans tous les groupes
   - habitant·e : 0 point, 0 % de ses votant·es
   - chercheur·e : 2 points, 100 % de ses votant·es
3. =HYPERLINK("http://evil.example","clic") — 1 point, pas choisie dans tous les groupes
   - habitant·e : 1 point, 50 % de ses votant·es
   - chercheur·e : 0 point, 0 % de ses votant·es

## Idées que tous les groupes soutiennent

- Un potager partagé (3 points, par Ana)

## Idées qui divisent

- Des bancs à l'ombre (2 points, par Chloé)

## Participation par groupe

- habitant·e : 2 personnes, 2 idées, 3 points ; 0 sans contribution
- chercheur·e : 2 personnes, 1 idée, 3 points ; 1 sans contribution

## Déroulé des phases

- 12:01 Idées
- 12:30 Regroupement
- 12:50 Vote

Heures en UTC.
"""

EXPECTED_CSV_FR = (
    "rang;id de l'idée;texte;groupe d'idées;points;consensus;divise;points : habitant·e;"
    "points : chercheur·e;soutien : habitant·e;soutien : chercheur·e\r\n"
    "1;n1;Un potager partagé;Nature & parc;3;1,000;non;2;1;1,000;1,000\r\n"
    "2;n3;Des bancs à l'ombre;Nature & parc;2;0,000;oui;0;2;0,000;1,000\r\n"
    '3;n2;"\'=HYPERLINK(""http://evil.example"",""clic"")";;1;0,000;non;1;0;0,500;0,000\r\n'
)
EXPECTED_CSV_EN = (
    "rank,note_id,text,cluster,total_dots,consensus,divisive,dots:habitant·e,dots:chercheur·e,"
    "share:habitant·e,share:chercheur·e\r\n"
    "1,n1,Un potager partagé,Nature & parc,3,1.000,no,2,1,1.000,1.000\r\n"
    "2,n3,Des bancs à l'ombre,Nature & parc,2,0.000,yes,0,2,0.000,1.000\r\n"
    '3,n2,"\'=HYPERLINK(""http://evil.example"",""clic"")",,1,0.000,no,1,0,0.500,0.000\r\n'
)


def test_markdown_report_in_english_and_french() -> None:
    assert report.render_markdown(DATA, "en") == EXPECTED_EN
    assert report.render_markdown(DATA, "fr") == EXPECTED_FR


def test_markdown_report_in_dutch_translates_every_heading() -> None:
    text = report.render_markdown(DATA, "nl")
    for line in (
        "# Verslag: Parc du Quartier",
        "## Deelnemers per groep",
        "### Nature & parc — 5 stippen, gekozen door minstens 100 % van de stemmers van elke groep",
        '- =HYPERLINK("http://evil.example","clic") (1 stip, door Ben)',
        "## Ideeën die elke groep steunt",
        "## Verdeelde ideeën",
        "- chercheur·e: 2 personen, 1 notitie, 3 stippen; 1 droeg niet bij",
        "- 12:50 Stemmen",
    ):
        assert line in text.splitlines(), line


def test_anonymous_report_names_nobody() -> None:
    text = report.render_markdown(replace(DATA, anonymous=True), "en")
    assert "- Un potager partagé (3 dots)" in text.splitlines()
    for name in ("Ana", "Ben", "Chloé", "Dirk"):
        assert name not in text


def test_markdown_escapes_structure_in_note_text() -> None:
    notes = {"x": {**NOTES["n1"], "text": "# <b>bold</b> *x*\nnew line", "cluster": None}}
    results = compute_results([], [], notes, {}, [])
    data = replace(DATA, board={"notes": notes, "clusters": {}}, results=results, authors={})
    assert "- \\# \\<b\\>bold\\</b\\> \\*x\\* new line (0 dots)" in render(data)


def test_report_gives_each_idea_in_its_language_and_its_translations() -> None:
    notes = {
        **NOTES,
        "n1": {
            **NOTES["n1"],
            "lang": "fr",
            "translations": {
                "nl": {"text": "Een gedeelde moestuin", "by": "Ben", "machine": False},
                "en": {"text": "A shared vegetable garden", "by": "", "machine": True},
                "fr": {"text": "ignored: the original language", "by": "x", "machine": False},
            },
        },
    }
    lines = render(replace(DATA, board={"notes": notes, "clusters": CLUSTERS})).splitlines()
    original = lines.index("- Un potager partagé (3 dots, by Ana)")
    # In the board's language order (fr, nl, en), the original's own language left out.
    assert lines[original + 1 : original + 3] == [
        "  - [nl] Een gedeelde moestuin",
        "  - [en] A shared vegetable garden (machine)",
    ]
    ranked = lines.index("1. Un potager partagé — 3 dots, chosen by at least 100% of the voters in every group")
    assert lines[ranked + 1 : ranked + 3] == [
        "   - [nl] Een gedeelde moestuin",
        "   - [en] A shared vegetable garden (machine)",
    ]
    assert "ignored: the original language" not in "\n".join(lines)
    # A board in two languages shows only those.
    two = render(
        replace(DATA, board={"notes": notes, "clusters": CLUSTERS}, languages=["fr", "nl"])
    )
    assert "A shared vegetable garden" not in two and "[nl] Een gedeelde moestuin" in two
    french = report.render_markdown(
        replace(DATA, board={"notes": notes, "clusters": CLUSTERS}), "fr"
    )
    assert "  - [en] A shared vegetable garden (automatique)" in french.splitlines()


def test_report_names_photo_and_voice_notes_and_references_the_picture() -> None:
    notes = {
        **NOTES,
        "n1": {**NOTES["n1"], "kind": "photo", "media": "m1"},
        "n3": {**NOTES["n3"], "kind": "voice", "media": "v1"},
    }
    data = replace(DATA, board={"notes": notes, "clusters": CLUSTERS}, board_id="B1")
    lines = render(data).splitlines()
    photo = lines.index("- Photo: Un potager partagé (3 dots, by Ana)")
    assert lines[photo + 1] == "  ![Un potager partagé](/api/boards/B1/media/m1)"
    assert "- Voice note: Des bancs à l'ombre (2 dots, by Chloé)" in lines
    assert "1. Photo: Un potager partagé — 3 dots, chosen by at least 100% of the voters in every group" in lines
    assert (
        lines.count("  ![Un potager partagé](/api/boards/B1/media/m1)") == 1
    )  # once, in its cluster
    nl = report.render_markdown(data, "nl").splitlines()
    assert (
        "- Foto: Un potager partagé (3 stippen, door Ana)" in nl
        and "- Spraakbericht: Des bancs à l'ombre (2 stippen, door Chloé)" in nl
    )
    fr = report.render_markdown(data, "fr").splitlines()
    assert (
        "- Photo : Un potager partagé (3 points, par Ana)" in fr
        and "- Note vocale : Des bancs à l'ombre (2 points, par Chloé)" in fr
    )


def render(data: report.ReportInput) -> str:
    return report.render_markdown(data, "en")


def test_csv_for_a_belgian_excel_and_in_english() -> None:
    assert report.results_csv(RESULTS, GROUPS, "fr") == EXPECTED_CSV_FR
    assert report.results_csv(RESULTS, GROUPS, "nl").splitlines()[0].startswith("rang;id van")
    assert report.results_csv(RESULTS, GROUPS, "en") == EXPECTED_CSV_EN
    # What the neutralising guards against: the plain csv module writes the formula as is.
    plain = io.StringIO()
    csv.writer(plain).writerow([EVIL])
    assert plain.getvalue().startswith('"=HYPERLINK')


TRANSLATED = {
    **NOTES,
    "n1": {
        **NOTES["n1"],
        "lang": "fr",
        "translations": {
            "nl": {"text": "Een gedeelde moestuin", "by": "pb", "machine": False},
            "en": {"text": "A shared vegetable garden", "by": "machine", "machine": True},
        },
    },
    "n2": {**NOTES["n2"], "lang": "en"},
    "n3": {**NOTES["n3"], "lang": "fr"},
}
EXPECTED_CSV_FR_LANGS = (
    "rang;id de l'idée;texte;langue;texte : fr;texte : nl;texte : en;traduction automatique;"
    "groupe d'idées;points;consensus;divise;points : habitant·e;points : chercheur·e;"
    "soutien : habitant·e;soutien : chercheur·e\r\n"
    "1;n1;Un potager partagé;fr;Un potager partagé;Een gedeelde moestuin;"
    "A shared vegetable garden;en;Nature & parc;3;1,000;non;2;1;1,000;1,000\r\n"
    "2;n3;Des bancs à l'ombre;fr;Des bancs à l'ombre;;;;Nature & parc;2;0,000;oui;0;2;0,000;"
    "1,000\r\n"
    '3;n2;"\'=HYPERLINK(""http://evil.example"",""clic"")";en;;;'
    '"\'=HYPERLINK(""http://evil.example"",""clic"")";;;1;0,000;non;1;0;0,500;0,000\r\n'
)
EXPECTED_CSV_EN_LANGS_HEAD = (
    "rank,note_id,text,language,text:fr,text:nl,text:en,machine_translated,cluster,total_dots,"
    "consensus,divisive,dots:habitant·e,dots:chercheur·e,share:habitant·e,share:chercheur·e"
)


def test_csv_has_a_column_per_board_language() -> None:
    languages = ["fr", "nl", "en"]
    assert report.results_csv(RESULTS, GROUPS, "fr", TRANSLATED, languages) == EXPECTED_CSV_FR_LANGS
    en = report.results_csv(RESULTS, GROUPS, "en", TRANSLATED, languages).splitlines()
    assert en[0] == EXPECTED_CSV_EN_LANGS_HEAD
    assert en[1] == (
        "1,n1,Un potager partagé,fr,Un potager partagé,Een gedeelde moestuin,"
        "A shared vegetable garden,en,Nature & parc,3,1.000,no,2,1,1.000,1.000"
    )
    nl = report.results_csv(RESULTS, GROUPS, "nl", TRANSLATED, languages).splitlines()
    assert nl[0].startswith(
        "rang;id van het idee;tekst;taal;tekst: fr;tekst: nl;tekst: en;machinevertaling;"
    )


def test_every_formula_start_is_neutralised() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert report.neutralise(text) == "'" + text
    assert report.neutralise("ok = fine") == "ok = fine"


def test_svg_picture_of_the_board() -> None:
    svg = report.render_svg(DATA.board, RESULTS)
    root = ET.fromstring(svg)  # well-formed XML, so any browser or slide tool opens it
    ns = "{http://www.w3.org/2000/svg}"
    notes = root.findall(f"{ns}g[@class='note']")
    texts = ["".join(g.itertext()) for g in notes]
    assert texts == [
        "Un potager partagé3",
        '=HYPERLINK("http://evil.example","clic")1',
        "Des bancs à l'ombre2",
    ]
    titles = ["".join(g.itertext()) for g in root.findall(f"{ns}g[@class='cluster']")]
    assert titles == ["Nature & parc"]
    assert root.get("viewBox") == "-40 -140 580 450"


PIXEL = "data:image/jpeg;base64,/9j/AAAA"


def test_svg_shows_translations_and_photos() -> None:
    notes = {
        **TRANSLATED,
        "n2": {**TRANSLATED["n2"], "text": "Le parc", "kind": "photo", "media": "m1"},
        "v": {**NOTES["n3"], "x": 600.0, "text": "", "kind": "voice", "media": "v1"},
    }
    svg = report.render_svg({"notes": notes, "clusters": CLUSTERS}, RESULTS, {"m1": PIXEL})
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(svg)
    by_text = {"".join(g.itertext()): g for g in root.findall(f"{ns}g[@class='note']")}
    assert set(by_text) == {
        "Un potager partagé[nl] Een gedeelde moestuin[en]* A shared vegetable garden3",
        "Le parc1",
        "Des bancs à l'ombre2",
        "♪",
    }
    first = by_text["Un potager partagé[nl] Een gedeelde moestuin[en]* A shared vegetable garden3"]
    assert [t.get("font-size") for t in first.findall(f"{ns}text[@class='translation']")] == [
        "12",
        "12",
    ]
    images = root.findall(f".//{ns}image")
    assert [i.get("href") for i in images] == [PIXEL]
    assert by_text["Le parc1"].find(f"{ns}image") is images[0]
    # A photo whose picture is missing still shows its caption, without an image.
    plain = report.render_svg({"notes": notes, "clusters": CLUSTERS}, RESULTS, {})
    assert "<image" not in plain and "Le parc" in plain


# ---------------------------------------------------------------------- through the server


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_exports_through_the_server(server: ServerProcess) -> None:
    board = server.create_board(title="Parc du Quartier", groups=GROUPS)
    fac = auth(board["facilitator_token"])
    joined = {p.name: server.join(board["join_code"], name=p.name, group=p.group) for p in PEOPLE}
    clients = {}
    for name in ("Ana", "Ben", "Chloé"):
        clients[name] = await YClient(server.url(board["id"], joined[name]["token"])).connect()
    now = float(int(time.time() * 1000))  # the client writes milliseconds
    await clients["Ana"].change(add_note("n1", NOTES["n1"]["text"], createdAt=now, lang="fr"))
    await clients["Ben"].change(add_note("n2", EVIL, x=300.0, createdAt=now))
    await clients["Chloé"].change(
        add_note("n3", NOTES["n3"]["text"], y=150.0, createdAt=now, lang="fr")
    )
    f = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    await f.wait_until(lambda: {"n1", "n2", "n3"} <= set(f.notes()))

    def cluster(doc: Any) -> None:
        doc.get("clusters", type=Map)["c1"] = Map({"title": "Nature & parc", "x": 0.0, "y": -60.0})
        doc.get("notes", type=Map)["n1"]["cluster"] = "c1"
        doc.get("notes", type=Map)["n3"]["cluster"] = "c1"
        # Translations of n1, as clients write them in the document: one human, one machine.
        doc.get("notes", type=Map)["n1"]["translations"] = Map(TRANSLATED["n1"]["translations"])

    await f.change(cluster)
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(f"/api/boards/{board['id']}/phase", json={"phase": "vote"}, headers=fac)
        assert r.status_code == 200
        ids = {p.id: p.name for p in PEOPLE}
        for pid, note, count in VOTES:
            for _ in range(count):
                r = await http.post(
                    f"/api/boards/{board['id']}/votes",
                    json={"note_id": note, "delta": 1},
                    headers=auth(joined[ids[pid]]["token"]),
                )
                assert r.status_code == 200, r.text
        r = await http.get(
            f"/api/boards/{board['id']}/export.md", params={"lang": "fr"}, headers=fac
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
        day = time.strftime("%Y-%m-%d", time.gmtime())
        got = re.sub(r"(?m)^- \d\d:\d\d ", "- HH:MM ", r.text)
        expected = EXPECTED_FR.replace("2025-12-01", day)
        expected = re.sub(r"(?m)^- \d\d:\d\d ", "- HH:MM ", expected)
        # This board went ideate -> vote (no clustering phase).
        expected = expected.replace("- HH:MM Regroupement\n", "")
        # n1 in its other languages, wherever it is listed.
        nl, en = "[nl] Een gedeelde moestuin", "[en] A shared vegetable garden (automatique)"
        idea = "- Un potager partagé (3 points, par Ana)\n"
        expected = expected.replace(idea, f"{idea}  - {nl}\n  - {en}\n")
        ranked = "1. Un potager partagé — 3 points, choisie par au moins 100 % des votant·es de chaque groupe\n"
        expected = expected.replace(ranked, f"{ranked}   - {nl}\n   - {en}\n")
        assert got == expected

        r = await http.get(
            f"/api/boards/{board['id']}/export.csv", params={"lang": "fr"}, headers=fac
        )
        assert r.text == "\ufeff" + EXPECTED_CSV_FR_LANGS
        r = await http.get(f"/api/boards/{board['id']}/export.csv", headers=fac)
        assert r.text.splitlines()[0] == "\ufeff" + EXPECTED_CSV_EN_LANGS_HEAD

        r = await http.get(f"/api/boards/{board['id']}/export.svg", headers=fac)
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert "Nature &amp; parc" in r.text and "Un potager partagé" in r.text
        assert "[nl] Een gedeelde moestuin" in r.text

        before = time.time()
        data = (await http.get(f"/api/boards/{board['id']}/export.json", headers=fac)).json()
        assert data["time_unit"] == "ms"
        created = data["board"]["created_at"]
        assert isinstance(created, int) and before * 1000 - 60_000 < created <= before * 1000
        assert data["board"]["settings"]["languages"] == ["fr", "nl", "en"]
        assert (data["notes"]["n1"]["lang"], data["notes"]["n2"]["lang"]) == ("fr", "en")
        assert data["notes"]["n1"]["translations"] == TRANSLATED["n1"]["translations"]
        assert "translations" not in data["notes"]["n3"]
        for note in data["notes"].values():
            assert isinstance(note["createdAt"], int)
            assert abs(note["createdAt"] - created) < 60_000  # the same unit as created_at

        r = await http.get(
            f"/api/boards/{board['id']}/export.md", params={"lang": "de"}, headers=fac
        )
        assert r.status_code == 422 and r.json()["error"] == "bad_lang"
        for ext in ("md", "csv", "json", "svg"):
            r = await http.get(
                f"/api/boards/{board['id']}/export.{ext}", headers=auth(joined["Ana"]["token"])
            )
            assert r.status_code == 403, ext
            r = await http.get(f"/api/boards/{board['id']}/export.{ext}")
            assert r.status_code == 401, ext
    for client in (*clients.values(), f):
        await client.close()


def test_report_gives_cluster_titles_in_its_language_and_voice_lengths() -> None:
    """`titles[lang]` heads a cluster in a report in that language (before: always the main
    title); a voice note says how long it is (before: "Voice note" only)."""
    notes = {**NOTES, "n3": {**NOTES["n3"], "kind": "voice", "media": "v1", "duration": 12.4}}
    clusters = {"c1": {**CLUSTERS["c1"], "titles": {"nl": "Natuur & park"}}}
    data = replace(DATA, board={"notes": notes, "clusters": clusters})
    nl = report.render_markdown(data, "nl").splitlines()
    assert any(line.startswith("### Natuur & park — ") for line in nl), nl
    assert "- Spraakbericht (12 s): Des bancs à l'ombre (2 stippen, door Chloé)" in nl
    en = render(data).splitlines()
    assert any(line.startswith("### Nature & parc — ") for line in en), en
