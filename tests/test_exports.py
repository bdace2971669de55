"""Exports on a fixed scenario, against hand-written expected content; and the endpoints' access.

The scenario: five participants in three groups (Eva, the only agent, neither posts nor votes),
three notes (one a formula-injection attempt), one cluster, six dot entries and two "I disagree"
marks. By hand (each group's voters: residents Ana, Ben = 2; researchers Chloé, Dirk = 2; agents
none):
- n1: Ana, Ben, Chloé: residents 2 of 2, researchers 1 of 2 -> consensus 1/2, 3 dots;
- n3: Chloé (2 dots), Dirk (1): researchers 2 of 2; both residents disagree (2 of 2) -> divisive
  (a group backs it with 2 people, another opposes it with 2), consensus 0, 3 dots;
- n2: Ben: residents 1 of 2, researchers 0 of 2 -> consensus 0, 1 dot; not divisive (the
  researchers did not pick it: that is not opposing it).
The agents' share is null everywhere: "no votes from this group", never "0 %".
"""

from __future__ import annotations

import csv
import io
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pycrdt import Map

from crdt import report
from crdt.results import compute_results
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

GROUPS = ["habitant·e", "chercheur·e", "agent·e"]
PEOPLE = [
    report.Person("pa", "Ana", "habitant·e"),
    report.Person("pb", "Ben", "habitant·e"),
    report.Person("pc", "Chloé", "chercheur·e"),
    report.Person("pd", "Dirk", "chercheur·e"),
    report.Person("pe", "Eva", "agent·e"),
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
VOTES = [
    ("pa", "n1", 1),
    ("pb", "n1", 1),
    ("pb", "n2", 1),
    ("pc", "n1", 1),
    ("pc", "n3", 2),
    ("pd", "n3", 1),
]
MARKS = [("pa", "n3"), ("pb", "n3")]
T0 = 1764590400.0  # 2025-12-01 12:00 UTC = 13:00 in Brussels (CET)
RESULTS = compute_results([(p.id, p.group) for p in PEOPLE], VOTES, NOTES, CLUSTERS, GROUPS, MARKS)
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

- habitant·e: 2 people, 2 voted
- chercheur·e: 2 people, 2 voted
- agent·e: 1 person, no votes from this group

## Clusters, those chosen in every group first

“Chosen by at least X %”: in each group that voted, at least that share of its voters gave the idea a dot. A group with no votes is left out.

### Nature & parc — 6 dots, chosen by at least 100% of the voters in each of the 2 groups that voted

- Un potager partagé (3 dots, by Ana)
- Des bancs à l'ombre (3 dots, by Chloé)

### Ideas outside clusters

- =HYPERLINK("http://evil.example","clic") (1 dot, by Ben)

## Ideas: dots and support per group

1. Un potager partagé — 3 dots, chosen by at least 50% of the voters in each of the 2 groups that voted
   - habitant·e: chosen by 2 of 2 (2 dots)
   - chercheur·e: chosen by 1 of 2 (1 dot)
   - agent·e: no votes from this group
2. Des bancs à l'ombre — 3 dots, not chosen in every group that voted
   - habitant·e: chosen by 0 of 2 (0 dots), 2 of 2 disagree
   - chercheur·e: chosen by 2 of 2 (3 dots)
   - agent·e: no votes from this group
3. =HYPERLINK("http://evil.example","clic") — 1 dot, not chosen in every group that voted
   - habitant·e: chosen by 1 of 2 (1 dot)
   - chercheur·e: chosen by 0 of 2 (0 dots)
   - agent·e: no votes from this group

## Ideas every group backs

- Un potager partagé (3 dots, by Ana)

## Divisive ideas

An idea divides only on evidence: in one group at least 2 people, half or more of its voters, chose it, while in another group at least 2 people, half or more of its voters, marked “I disagree”. Not choosing an idea is not opposing it.

- Des bancs à l'ombre (3 dots, by Chloé)
  - habitant·e: chosen by 0 of 2 (0 dots), 2 of 2 disagree
  - chercheur·e: chosen by 2 of 2 (3 dots)
  - agent·e: no votes from this group

## Participation per group

- habitant·e: 2 people, 2 notes, 3 dots; 0 did not contribute
- chercheur·e: 2 people, 1 note, 4 dots; 0 did not contribute
- agent·e: 1 person, 0 notes, 0 dots; 1 did not contribute

## Timeline of the phases

- 13:01 Ideas
- 13:30 Clustering
- 13:50 Voting

Times are in the Europe/Brussels time zone.
"""

EXPECTED_FR = """\
# Rapport : Parc du Quartier

Date : 2025-12-01

## Participant·es par groupe

- habitant·e : 2 personnes, 2 ont voté
- chercheur·e : 2 personnes, 2 ont voté
- agent·e : 1 personne, aucun vote de ce groupe

## Groupes d'idées, ceux choisis dans tous les groupes d'abord

« Choisie par au moins X % » : dans chaque groupe qui a voté, au moins cette part de ses votant·es a donné un point à l'idée. Un groupe sans vote n'est pas compté.

### Nature & parc — 6 points, choisie par au moins 100 % des votant·es dans chacun des 2 groupes qui ont voté

- Un potager partagé (3 points, par Ana)
- Des bancs à l'ombre (3 points, par Chloé)

### Idées hors des groupes d'idées

- =HYPERLINK("http://evil.example","clic") (1 point, par Ben)

## Idées : points et soutien par groupe

1. Un potager partagé — 3 points, choisie par au moins 50 % des votant·es dans chacun des 2 groupes qui ont voté
   - habitant·e : choisie par 2 sur 2 (2 points)
   - chercheur·e : choisie par 1 sur 2 (1 point)
   - agent·e : aucun vote de ce groupe
2. Des bancs à l'ombre — 3 points, pas choisie dans tous les groupes qui ont voté
   - habitant·e : choisie par 0 sur 2 (0 point), 2 sur 2 ne sont pas d'accord
   - chercheur·e : choisie par 2 sur 2 (3 points)
   - agent·e : aucun vote de ce groupe
3. =HYPERLINK("http://evil.example","clic") — 1 point, pas choisie dans tous les groupes qui ont voté
   - habitant·e : choisie par 1 sur 2 (1 point)
   - chercheur·e : choisie par 0 sur 2 (0 point)
   - agent·e : aucun vote de ce groupe

## Idées que tous les groupes soutiennent

- Un potager partagé (3 points, par Ana)

## Idées qui divisent

Une idée divise seulement sur des preuves : dans un groupe au moins 2 personnes, la moitié ou plus de ses votant·es, l'ont choisie, et dans un autre groupe au moins 2 personnes, la moitié ou plus de ses votant·es, ont marqué « pas d'accord ». Ne pas choisir une idée n'est pas s'y opposer.

- Des bancs à l'ombre (3 points, par Chloé)
  - habitant·e : choisie par 0 sur 2 (0 point), 2 sur 2 ne sont pas d'accord
  - chercheur·e : choisie par 2 sur 2 (3 points)
  - agent·e : aucun vote de ce groupe

## Participation par groupe

- habitant·e : 2 personnes, 2 idées, 3 points ; 0 sans contribution
- chercheur·e : 2 personnes, 1 idée, 4 points ; 0 sans contribution
- agent·e : 1 personne, 0 idée, 0 point ; 1 sans contribution

## Déroulé des phases

- 13:01 Idées
- 13:30 Regroupement
- 13:50 Vote

Heures dans le fuseau horaire Europe/Brussels.
"""

EXPECTED_CSV_FR = (
    "rang;id de l'idée;type;texte;groupe d'idées;points;marques pas d'accord;consensus;divise;en mots;personnes : habitant·e;personnes : chercheur·e;personnes : agent·e;votant·es du groupe : habitant·e;votant·es du groupe : chercheur·e;votant·es du groupe : agent·e;points : habitant·e;points : chercheur·e;points : agent·e;votant·es pour : habitant·e;votant·es pour : chercheur·e;votant·es pour : agent·e;pas d'accord : habitant·e;pas d'accord : chercheur·e;pas d'accord : agent·e;soutien : habitant·e;soutien : chercheur·e;soutien : agent·e\r\n"
    '1;n1;texte;Un potager partagé;Nature & parc;3;0;0,500;non;"habitant·e : choisie par 2 sur 2; chercheur·e : choisie par 1 sur 2; agent·e : aucun vote de ce groupe";2;2;1;2;2;0;2;1;0;2;1;0;0;0;0;1,000;0,500;\r\n'
    "2;n3;texte;Des bancs à l'ombre;Nature & parc;3;2;0,000;oui;\"habitant·e : choisie par 0 sur 2, 2 sur 2 ne sont pas d'accord; chercheur·e : choisie par 2 sur 2; agent·e : aucun vote de ce groupe\";2;2;1;2;2;0;0;3;0;0;2;0;2;0;0;0,000;1,000;\r\n"
    '3;n2;texte;"\'=HYPERLINK(""http://evil.example"",""clic"")";;1;0;0,000;non;"habitant·e : choisie par 1 sur 2; chercheur·e : choisie par 0 sur 2; agent·e : aucun vote de ce groupe";2;2;1;2;2;0;1;0;0;1;0;0;0;0;0;0,500;0,000;\r\n'
)
EXPECTED_CSV_EN = (
    "rank,note_id,type,text,cluster,total_dots,against_marks,consensus,divisive,in_words,people:habitant·e,people:chercheur·e,people:agent·e,group_voters:habitant·e,group_voters:chercheur·e,group_voters:agent·e,dots:habitant·e,dots:chercheur·e,dots:agent·e,voters:habitant·e,voters:chercheur·e,voters:agent·e,against:habitant·e,against:chercheur·e,against:agent·e,share:habitant·e,share:chercheur·e,share:agent·e\r\n"
    "1,n1,text,Un potager partagé,Nature & parc,3,0,0.500,no,habitant·e: chosen by 2 of 2; chercheur·e: chosen by 1 of 2; agent·e: no votes from this group,2,2,1,2,2,0,2,1,0,2,1,0,0,0,0,1.000,0.500,\r\n"
    '2,n3,text,Des bancs à l\'ombre,Nature & parc,3,2,0.000,yes,"habitant·e: chosen by 0 of 2, 2 of 2 disagree; chercheur·e: chosen by 2 of 2; agent·e: no votes from this group",2,2,1,2,2,0,0,3,0,0,2,0,2,0,0,0.000,1.000,\r\n'
    '3,n2,text,"\'=HYPERLINK(""http://evil.example"",""clic"")",,1,0,0.000,no,habitant·e: chosen by 1 of 2; chercheur·e: chosen by 0 of 2; agent·e: no votes from this group,2,2,1,2,2,0,1,0,0,1,0,0,0,0,0,0.500,0.000,\r\n'
)


def test_markdown_report_in_english_and_french() -> None:
    assert report.render_markdown(DATA, "en") == EXPECTED_EN
    assert report.render_markdown(DATA, "fr") == EXPECTED_FR


def test_markdown_report_in_dutch_translates_every_heading() -> None:
    text = report.render_markdown(DATA, "nl")
    for line in (
        "# Verslag: Parc du Quartier",
        "## Deelnemers per groep",
        "- habitant·e: 2 personen, 2 stemden",
        "- agent·e: 1 persoon, geen stemmen uit deze groep",
        "### Nature & parc — 6 stippen, gekozen door minstens 100 % van de stemmers in elk van de"
        " 2 groepen die stemden",
        '- =HYPERLINK("http://evil.example","clic") (1 stip, door Ben)',
        "   - habitant·e: gekozen door 0 van 2 (0 stippen), 2 van 2 zijn het oneens",
        "   - agent·e: geen stemmen uit deze groep",
        "## Ideeën die elke groep steunt",
        "## Verdeelde ideeën",
        "- chercheur·e: 2 personen, 1 notitie, 4 stippen; 0 droegen niet bij",
        "- 13:50 Stemmen",
        "Tijden in de tijdzone Europe/Brussels.",
    ):
        assert line in text.splitlines(), line


def test_anonymous_report_names_nobody() -> None:
    text = report.render_markdown(replace(DATA, anonymous=True), "en")
    assert "- Un potager partagé (3 dots)" in text.splitlines()
    for name in ("Ana", "Ben", "Chloé", "Dirk", "Eva"):
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
    ranked = lines.index(
        "1. Un potager partagé — 3 dots, chosen by at least 50% of the voters in each of the 2"
        " groups that voted"
    )
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
    assert "- Voice note: Des bancs à l'ombre (3 dots, by Chloé)" in lines
    assert (
        "1. Photo: Un potager partagé — 3 dots, chosen by at least 50% of the voters in each of"
        " the 2 groups that voted"
    ) in lines
    assert (
        lines.count("  ![Un potager partagé](/api/boards/B1/media/m1)") == 1
    )  # once, in its cluster
    nl = report.render_markdown(data, "nl").splitlines()
    assert (
        "- Foto: Un potager partagé (3 stippen, door Ana)" in nl
        and "- Spraakbericht: Des bancs à l'ombre (3 stippen, door Chloé)" in nl
    )
    fr = report.render_markdown(data, "fr").splitlines()
    assert (
        "- Photo : Un potager partagé (3 points, par Ana)" in fr
        and "- Note vocale : Des bancs à l'ombre (3 points, par Chloé)" in fr
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
    "rang;id de l'idée;type;texte;langue;texte : fr;texte : nl;texte : en;traduction automatique;groupe d'idées;points;marques pas d'accord;consensus;divise;en mots;personnes : habitant·e;personnes : chercheur·e;personnes : agent·e;votant·es du groupe : habitant·e;votant·es du groupe : chercheur·e;votant·es du groupe : agent·e;points : habitant·e;points : chercheur·e;points : agent·e;votant·es pour : habitant·e;votant·es pour : chercheur·e;votant·es pour : agent·e;pas d'accord : habitant·e;pas d'accord : chercheur·e;pas d'accord : agent·e;soutien : habitant·e;soutien : chercheur·e;soutien : agent·e\r\n"
    '1;n1;texte;Un potager partagé;fr;Un potager partagé;Een gedeelde moestuin;A shared vegetable garden;en;Nature & parc;3;0;0,500;non;"habitant·e : choisie par 2 sur 2; chercheur·e : choisie par 1 sur 2; agent·e : aucun vote de ce groupe";2;2;1;2;2;0;2;1;0;2;1;0;0;0;0;1,000;0,500;\r\n'
    "2;n3;texte;Des bancs à l'ombre;fr;Des bancs à l'ombre;;;;Nature & parc;3;2;0,000;oui;\"habitant·e : choisie par 0 sur 2, 2 sur 2 ne sont pas d'accord; chercheur·e : choisie par 2 sur 2; agent·e : aucun vote de ce groupe\";2;2;1;2;2;0;0;3;0;0;2;0;2;0;0;0,000;1,000;\r\n"
    '3;n2;texte;"\'=HYPERLINK(""http://evil.example"",""clic"")";en;;;"\'=HYPERLINK(""http://evil.example"",""clic"")";;;1;0;0,000;non;"habitant·e : choisie par 1 sur 2; chercheur·e : choisie par 0 sur 2; agent·e : aucun vote de ce groupe";2;2;1;2;2;0;1;0;0;1;0;0;0;0;0;0,500;0,000;\r\n'
)
EXPECTED_CSV_EN_LANGS_HEAD = "rank,note_id,type,text,language,text:fr,text:nl,text:en,machine_translated,cluster,total_dots,against_marks,consensus,divisive,in_words,people:habitant·e,people:chercheur·e,people:agent·e,group_voters:habitant·e,group_voters:chercheur·e,group_voters:agent·e,dots:habitant·e,dots:chercheur·e,dots:agent·e,voters:habitant·e,voters:chercheur·e,voters:agent·e,against:habitant·e,against:chercheur·e,against:agent·e,share:habitant·e,share:chercheur·e,share:agent·e"


def test_csv_has_a_column_per_board_language() -> None:
    languages = ["fr", "nl", "en"]
    assert report.results_csv(RESULTS, GROUPS, "fr", TRANSLATED, languages) == EXPECTED_CSV_FR_LANGS
    en = report.results_csv(RESULTS, GROUPS, "en", TRANSLATED, languages).splitlines()
    assert en[0] == EXPECTED_CSV_EN_LANGS_HEAD
    assert en[1] == (
        "1,n1,text,Un potager partagé,fr,Un potager partagé,Een gedeelde moestuin,A shared vegetable garden,en,Nature & parc,3,0,0.500,no,habitant·e: chosen by 2 of 2; chercheur·e: chosen by 1 of 2; agent·e: no votes from this group,2,2,1,2,2,0,2,1,0,2,1,0,0,0,0,1.000,0.500,"
    )
    nl = report.results_csv(RESULTS, GROUPS, "nl", TRANSLATED, languages).splitlines()
    assert nl[0].startswith(
        "rang;id van het idee;soort;tekst;taal;tekst: fr;tekst: nl;tekst: en;machinevertaling;"
    )


def test_csv_rows_of_photo_and_voice_notes_say_what_they_are() -> None:
    """A media note without a caption used to give a blank row with no type; without marks in
    use there are no "against" columns and nothing is divisive."""
    notes = {
        **NOTES,
        "n1": {**NOTES["n1"], "kind": "photo", "media": "m1", "text": ""},
        "n2": {**NOTES["n2"], "kind": "voice", "media": "v2", "text": ""},
        "n3": {**NOTES["n3"], "kind": "voice", "media": "v1", "text": "Des bancs"},
    }
    people = [(p.id, p.group) for p in PEOPLE]
    results = compute_results(people, VOTES, notes, CLUSTERS, GROUPS)  # no marks
    lines = report.results_csv(results, GROUPS, "en", notes, ["fr"], {"n2": 11.6}).splitlines()
    assert lines == [
        "rank,note_id,type,text,language,text:fr,machine_translated,cluster,total_dots,"
        "consensus,divisive,in_words,people:habitant·e,people:chercheur·e,people:agent·e,"
        "group_voters:habitant·e,group_voters:chercheur·e,group_voters:agent·e,"
        "dots:habitant·e,dots:chercheur·e,dots:agent·e,"
        "voters:habitant·e,voters:chercheur·e,voters:agent·e,share:habitant·e,"
        "share:chercheur·e,share:agent·e",
        "1,n1,photo,photo,,,,Nature & parc,3,0.500,no,habitant·e: chosen by 2 of 2; chercheur·e:"
        " chosen by 1 of 2; agent·e: no votes from this group,2,2,1,2,2,0,2,1,0,2,1,0,1.000,0.500,",
        "2,n3,voice,Des bancs,,,,Nature & parc,3,0.000,no,habitant·e: chosen by 0 of 2;"
        " chercheur·e: chosen by 2 of 2; agent·e: no votes from this group,2,2,1,2,2,0,0,3,0,0,2,0,"
        "0.000,1.000,",
        '3,n2,voice,"voice note, 12 s",,,,,1,0.000,no,habitant·e: chosen by 1 of 2; chercheur·e:'
        " chosen by 0 of 2; agent·e: no votes from this group,2,2,1,2,2,0,1,0,0,1,0,0,0.500,0.000,",
    ]
    fr = report.results_csv(results, GROUPS, "fr", notes, ["fr"]).splitlines()
    assert fr[0].startswith("rang;id de l'idée;type;texte;")
    assert fr[1].startswith("1;n1;photo;photo;")
    assert fr[3].startswith("3;n2;note vocale;note vocale;")  # no length known: no number
    nl = report.results_csv(results, GROUPS, "nl", notes, ["fr"], {"n2": 3.2}).splitlines()
    assert nl[3].startswith("3;n2;spraakbericht;spraakbericht, 3 s;")


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
        "Des bancs à l'ombre3",
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
        "Des bancs à l'ombre3",
        "♪ Voice note",
    }
    # With its length (the `duration` the recorder wrote) and a caption, in the reader's language.
    said = {**notes, "v": {**notes["v"], "duration": 12.4, "text": "Le banc"}}
    fr = ET.fromstring(
        report.render_svg({"notes": said, "clusters": CLUSTERS}, RESULTS, {}, lang="fr")
    )
    lines = [
        [span.text for span in g.iter(f"{ns}tspan")]
        for g in fr.findall(f"{ns}g[@class='note']")
        if "".join(g.itertext()).startswith("♪")
    ]
    assert lines == [["♪ note vocale, 12 s", "Le banc"]]
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
        r = await http.patch(
            f"/api/boards/{board['id']}/settings", json={"disagree_marks": True}, headers=fac
        )
        assert r.status_code == 200
        ids = {p.id: p.name for p in PEOPLE}
        for pid, note in MARKS:
            r = await http.post(
                f"/api/boards/{board['id']}/votes",
                json={"note_id": note, "delta": 1, "stance": "against"},
                headers=auth(joined[ids[pid]]["token"]),
            )
            assert r.status_code == 200, r.text
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
        day = datetime.now(ZoneInfo("Europe/Brussels")).strftime("%Y-%m-%d")  # the board's zone
        got = re.sub(r"(?m)^- \d\d:\d\d ", "- HH:MM ", r.text)
        expected = EXPECTED_FR.replace("2025-12-01", day)
        expected = re.sub(r"(?m)^- \d\d:\d\d ", "- HH:MM ", expected)
        # This board went ideate -> vote (no clustering phase).
        expected = expected.replace("- HH:MM Regroupement\n", "")
        # n1 in its other languages, wherever it is listed.
        nl, en = "[nl] Een gedeelde moestuin", "[en] A shared vegetable garden (automatique)"
        idea = "- Un potager partagé (3 points, par Ana)\n"
        expected = expected.replace(idea, f"{idea}  - {nl}\n  - {en}\n")
        ranked = (
            "1. Un potager partagé — 3 points, choisie par au moins 50 % des votant·es dans"
            " chacun des 2 groupes qui ont voté\n"
        )
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

        # A Dutch reader: the facilitator's Dutch group labels and a Dutch cluster title.
        r = await http.patch(
            f"/api/boards/{board['id']}/settings", json={"group_labels": LABELS}, headers=fac
        )
        assert r.status_code == 200, r.text

        def dutch_title(doc: Any) -> None:
            doc.get("clusters", type=Map)["c1"]["titles"] = Map({"nl": "Natuur & park"})

        await f.change(dutch_title)
        ana = clients["Ana"]  # the server passed it on: it has it

        def ana_sees_title() -> bool:
            cluster = ana.doc.get("clusters", type=Map).get("c1")
            titles = cluster.get("titles") if cluster is not None else None
            return titles is not None and titles.get("nl") == "Natuur & park"

        await ana.wait_until(ana_sees_title)
        nl_params = {"lang": "nl"}
        r = await http.get(f"/api/boards/{board['id']}/export.md", params=nl_params, headers=fac)
        lines = r.text.splitlines()
        assert "- Bewoner: 2 personen, 2 stemden" in lines
        assert any(line.startswith("### Natuur & park — 6 stippen") for line in lines)
        r = await http.get(f"/api/boards/{board['id']}/export.csv", params=nl_params, headers=fac)
        row = next(csv.reader(io.StringIO(r.text.splitlines()[1]), delimiter=";"))
        assert row[9] == "Natuur & park"
        assert row[14].startswith("Bewoner: gekozen door 2 van 2; Onderzoeker: gekozen door 1")
        r = await http.get(f"/api/boards/{board['id']}/export.svg", params=nl_params, headers=fac)
        assert "Natuur &amp; park" in r.text and "Nature &amp; parc" not in r.text

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
    assert "- Spraakbericht (12 s): Des bancs à l'ombre (3 stippen, door Chloé)" in nl
    en = render(data).splitlines()
    assert any(line.startswith("### Nature & parc — ") for line in en), en


# ---------------------------------------------------------------------- the reader's language

# The facilitator's labels (the board setting `group_labels`): no French ones, and none at all
# for agent·e, which then reads as itself.
LABELS = {"habitant·e": {"nl": "Bewoner", "en": "Resident"}, "chercheur·e": {"nl": "Onderzoeker"}}
TITLED = {"c1": {**CLUSTERS["c1"], "titles": {"nl": "Natuur & park"}}}


def test_report_names_groups_in_its_language() -> None:
    """Before: every group read as its French id in every report ("- habitant·e: 2 personen")."""
    data = replace(DATA, group_labels=LABELS)
    nl = report.render_markdown(data, "nl").splitlines()
    for line in (
        "- Bewoner: 2 personen, 2 stemden",
        "- Onderzoeker: 2 personen, 2 stemden",
        "- agent·e: 1 persoon, geen stemmen uit deze groep",
        "   - Bewoner: gekozen door 0 van 2 (0 stippen), 2 van 2 zijn het oneens",
        "   - Onderzoeker: gekozen door 2 van 2 (3 stippen)",
        "  - Bewoner: gekozen door 0 van 2 (0 stippen), 2 van 2 zijn het oneens",
        "- Bewoner: 2 personen, 2 notities, 3 stippen; 0 droegen niet bij",
        "- Onderzoeker: 2 personen, 1 notitie, 4 stippen; 0 droegen niet bij",
    ):
        assert line in nl, line
    assert not [line for line in nl if "habitant·e" in line or "chercheur·e" in line]
    en = report.render_markdown(data, "en").splitlines()
    assert "- Resident: 2 people, 2 voted" in en
    assert "- chercheur·e: 2 people, 2 voted" in en  # no English label: the group itself
    # No French labels: the French report is the one without labels, line for line.
    assert report.render_markdown(data, "fr") == EXPECTED_FR


def test_csv_names_groups_and_clusters_in_its_language() -> None:
    """Before: the headers and words used the group ids, the cluster column the main title."""
    lines = report.results_csv(
        RESULTS, GROUPS, "nl", group_labels=LABELS, clusters=TITLED
    ).splitlines()
    assert lines[0] == (
        "rang;id van het idee;soort;tekst;cluster;stippen;niet-akkoordmarkeringen;consensus;"
        "verdeeld;in woorden;personen: Bewoner;personen: Onderzoeker;personen: agent·e;"
        "stemmers van de groep: Bewoner;stemmers van de groep: Onderzoeker;"
        "stemmers van de groep: agent·e;stippen: Bewoner;stippen: Onderzoeker;stippen: agent·e;"
        "stemmers voor: Bewoner;stemmers voor: Onderzoeker;stemmers voor: agent·e;"
        "niet akkoord: Bewoner;niet akkoord: Onderzoeker;niet akkoord: agent·e;steun: Bewoner;"
        "steun: Onderzoeker;steun: agent·e"
    )
    assert lines[1] == (
        '1;n1;tekst;Un potager partagé;Natuur & park;3;0;0,500;nee;"Bewoner: gekozen door 2 van'
        ' 2; Onderzoeker: gekozen door 1 van 2; agent·e: geen stemmen uit deze groep";2;2;1;2;2;0;'
        "2;1;0;2;1;0;0;0;0;1,000;0,500;"
    )
    assert lines[3].startswith("3;n2;tekst;")  # outside clusters: still an empty cell
    assert ';;1;0;0,000;nee;"Bewoner: gekozen door 1 van 2;' in lines[3]
    # In a language without labels or titles: the groups and the main title, as before.
    fr = report.results_csv(RESULTS, GROUPS, "fr", group_labels=LABELS, clusters=TITLED)
    assert fr == EXPECTED_CSV_FR


def test_svg_titles_clusters_in_its_language() -> None:
    """Before: the frame always carried the main title."""
    ns = "{http://www.w3.org/2000/svg}"

    def titles(lang: str | None) -> list[str]:
        svg = report.render_svg({"notes": NOTES, "clusters": TITLED}, RESULTS, {}, lang=lang)
        frames = ET.fromstring(svg).findall(f"{ns}g[@class='cluster']")
        return ["".join(g.itertext()) for g in frames]

    assert titles("nl") == ["Natuur & park"]
    assert titles("fr") == ["Nature & parc"] and titles(None) == ["Nature & parc"]
