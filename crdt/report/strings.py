"""The report's words in FR/NL/EN, and how counts are said ("1 dot", "2 dots"; French says
"0 point" in the singular, as Intl.PluralRules("fr") does)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGS = ("fr", "nl", "en")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "colon": ": ",
        "report": "Report",
        "date": "Date",
        "participants": "Participants per group",
        "no_group": "no group",
        "people": "{n} person|{n} people",
        "clusters": "Clusters, those chosen in every group first",
        "unclustered": "Ideas outside clusters",
        "ideas": "Ideas: dots and support per group",
        "dots": "{n} dot|{n} dots",
        "score_help": (
            "“Chosen by at least X %”: in each group that voted, at least that share of its"
            " voters gave the idea a dot. A group with no votes is left out."
        ),
        "by": "by {name}",
        "backed": "Ideas every group backs",
        "divisive": "Divisive ideas",
        "none": "None.",
        "balance": "Participation per group",
        "notes": "{n} note|{n} notes",
        "idle": "{n} did not contribute|{n} did not contribute",
        "balance_row": "{g}: {size}, {notes}, {votes}; {idle}",
        "timeline": "Timeline of the phases",
        "ideate": "Ideas",
        "cluster": "Clustering",
        "vote": "Voting",
        "results": "Results",
        "untitled": "(untitled)",
        "photo": "Photo",
        "voice": "Voice note",
        "machine": "machine",
        # branch results: sentences with numbers people can check
        "voted": "{n} voted|{n} voted",
        "group_size": "{g}: {people}, {voted}",
        "chosen_by": "{g}: chosen by {n} of {m}",
        "against": "{n} of {m} disagrees|{n} of {m} disagree",
        "silent": "{g}: no votes from this group",
        "silent_short": "no votes from this group",
        "consensus_nobody": "no group has voted",
        "consensus_zero": "not chosen in every group that voted",
        "consensus_one": "chosen by {p} of the voters of the one group that voted",
        "consensus_many": (
            "chosen by at least {p} of the voters in each of the {n} groups that voted"
        ),
        "divisive_help": (
            "An idea divides only on evidence: in one group at least 2 people, half or more of"
            " its voters, chose it, while in another group at least 2 people, half or more of its"
            " voters, marked “I disagree”. Not choosing an idea is not opposing it."
        ),
        "no_marks": "“I disagree” marks were not in use, so no idea is called divisive.",
        "times_in": "Times are in the {tz} time zone.",
        "voice_for": "voice note, {s} s",
    },
    "fr": {
        "colon": " : ",
        "report": "Rapport",
        "date": "Date",
        "participants": "Participant·es par groupe",
        "no_group": "sans groupe",
        "people": "{n} personne|{n} personnes",
        "clusters": "Groupes d'idées, ceux choisis dans tous les groupes d'abord",
        "unclustered": "Idées hors des groupes d'idées",
        "ideas": "Idées : points et soutien par groupe",
        "dots": "{n} point|{n} points",
        "score_help": (
            "« Choisie par au moins X % » : dans chaque groupe qui a voté, au moins cette part"
            " de ses votant·es a donné un point à l'idée. Un groupe sans vote n'est pas compté."
        ),
        "by": "par {name}",
        "backed": "Idées que tous les groupes soutiennent",
        "divisive": "Idées qui divisent",
        "none": "Aucune.",
        "balance": "Participation par groupe",
        "notes": "{n} idée|{n} idées",
        "idle": "{n} sans contribution|{n} sans contribution",
        "balance_row": "{g} : {size}, {notes}, {votes} ; {idle}",
        "timeline": "Déroulé des phases",
        "ideate": "Idées",
        "cluster": "Regroupement",
        "vote": "Vote",
        "results": "Résultats",
        "untitled": "(sans titre)",
        "photo": "Photo",
        "voice": "Note vocale",
        "machine": "automatique",
        # branch results: sentences with numbers people can check
        "voted": "{n} a voté|{n} ont voté",
        "group_size": "{g} : {people}, {voted}",
        "chosen_by": "{g} : choisie par {n} sur {m}",
        "against": "{n} sur {m} n'est pas d'accord|{n} sur {m} ne sont pas d'accord",
        "silent": "{g} : aucun vote de ce groupe",
        "silent_short": "aucun vote de ce groupe",
        "consensus_nobody": "aucun groupe n'a voté",
        "consensus_zero": "pas choisie dans tous les groupes qui ont voté",
        "consensus_one": "choisie par {p} des votant·es du seul groupe qui a voté",
        "consensus_many": (
            "choisie par au moins {p} des votant·es dans chacun des {n} groupes qui ont voté"
        ),
        "divisive_help": (
            "Une idée divise seulement sur des preuves : dans un groupe au moins 2 personnes, la"
            " moitié ou plus de ses votant·es, l'ont choisie, et dans un autre groupe au moins 2"
            " personnes, la moitié ou plus de ses votant·es, ont marqué « pas d'accord »."
            " Ne pas choisir une idée n'est pas s'y opposer."
        ),
        "no_marks": (
            "Les marques « pas d'accord » n'étaient pas utilisées : aucune idée n'est dite"
            " qui divise."
        ),
        "times_in": "Heures dans le fuseau horaire {tz}.",
        "voice_for": "note vocale, {s} s",
    },
    "nl": {
        "colon": ": ",
        "report": "Verslag",
        "date": "Datum",
        "participants": "Deelnemers per groep",
        "no_group": "geen groep",
        "people": "{n} persoon|{n} personen",
        "clusters": "Clusters, eerst die in elke groep gekozen zijn",
        "unclustered": "Ideeën buiten clusters",
        "ideas": "Ideeën: stippen en steun per groep",
        "dots": "{n} stip|{n} stippen",
        "score_help": (
            "„Gekozen door minstens X %”: in elke groep die stemde, gaf minstens dat deel van de"
            " stemmers het idee een stip. Een groep zonder stemmen telt niet mee."
        ),
        "by": "door {name}",
        "backed": "Ideeën die elke groep steunt",
        "divisive": "Verdeelde ideeën",
        "none": "Geen.",
        "balance": "Deelname per groep",
        "notes": "{n} notitie|{n} notities",
        "idle": "{n} droeg niet bij|{n} droegen niet bij",
        "balance_row": "{g}: {size}, {notes}, {votes}; {idle}",
        "timeline": "Verloop van de fasen",
        "ideate": "Ideeën",
        "cluster": "Clusteren",
        "vote": "Stemmen",
        "results": "Resultaten",
        "untitled": "(zonder titel)",
        "photo": "Foto",
        "voice": "Spraakbericht",
        "machine": "machine",
        # branch results: sentences with numbers people can check
        "voted": "{n} stemde|{n} stemden",
        "group_size": "{g}: {people}, {voted}",
        "chosen_by": "{g}: gekozen door {n} van {m}",
        "against": "{n} van {m} is het oneens|{n} van {m} zijn het oneens",
        "silent": "{g}: geen stemmen uit deze groep",
        "silent_short": "geen stemmen uit deze groep",
        "consensus_nobody": "nog geen enkele groep heeft gestemd",
        "consensus_zero": "niet gekozen in elke groep die stemde",
        "consensus_one": "gekozen door {p} van de stemmers in de enige groep die stemde",
        "consensus_many": (
            "gekozen door minstens {p} van de stemmers in elk van de {n} groepen die stemden"
        ),
        "divisive_help": (
            "Een idee verdeelt alleen op bewijs: in een groep kozen minstens 2 mensen, de helft of"
            " meer van de stemmers, het idee, terwijl in een andere groep minstens 2 mensen, de"
            " helft of meer van de stemmers, „niet akkoord” aanduidden. Een idee niet kiezen is"
            " er niet tegen zijn."
        ),
        "no_marks": "„Niet akkoord”-markeringen waren niet in gebruik: geen idee heet verdeeld.",
        "times_in": "Tijden in de tijdzone {tz}.",
        "voice_for": "spraakbericht, {s} s",
    },
}


def pick_lang(value: str | None) -> str:
    return value if value in LANGS else "en"


def plural(t: Mapping[str, str], key: str, n: int) -> str:
    """`key` holds "one|other"; French counts 0 as singular, as Intl.PluralRules("fr") does."""
    one, _, other = t[key].partition("|")
    singular = n == 1 or (n == 0 and t is STRINGS["fr"])
    return (one if singular else other).format(n=n)


def plural_with(t: Mapping[str, str], key: str, n: int, **more: Any) -> str:
    """`plural`, with more fields to fill than `{n}`."""
    one, _, other = t[key].partition("|")
    singular = n == 1 or (n == 0 and t is STRINGS["fr"])
    return (one if singular else other).format(n=n, **more)
