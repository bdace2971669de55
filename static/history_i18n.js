// @ts-check
// Strings of the replay feed and the report page, in FR, NL and EN (kept apart from i18n.js so the
// history features ship as their own modules). Same rules as i18n.js: {name} placeholders, `_one`
// plural forms picked with Intl.PluralRules.
import { getLang, locale } from "./i18n.js";

/** @type {Record<string, Record<string, string>>} language -> key -> text */
const D = {
  fr: {
    feed_heading: "Qui a fait quoi",
    feed_empty: "Aucun changement pour l’instant.",
    feed_more: "Plus d’évènements",
    feed_follow: "Suivre le tableau en direct",
    feed_live: "En direct",
    participant_n: "Participant·e {n}",
    actor_facilitator: "L’animateur·rice",
    actor_server: "Cobord",
    actor_viewer: "Écran",
    ev_note_added: "{who} a ajouté une note",
    ev_text_edited: "{who} a modifié le texte d’une note",
    ev_moved: "{who} a déplacé une note",
    ev_clustered: "{who} a rangé une note dans un groupe",
    ev_deleted: "{who} a supprimé une note",
    ev_cluster_created: "{who} a créé un groupe d’idées",
    ev_cluster_renamed: "{who} a renommé un groupe d’idées",
    ev_cluster_deleted: "{who} a supprimé un groupe d’idées",
    ev_phase_changed: "Phase : {phase}",
    ev_private_writing_revealed: "Les notes privées sont révélées",
    ev_votes_revealed: "Les votes sont révélés",
    // screens branch: one line for many moves; moderation in plain words
    ev_notes_moved: "{who} a déplacé {n} notes",
    ev_notes_clustered: "{who} a rangé {n} notes dans des groupes",
    ev_hidden: "Une note a été masquée par l’animateur·rice",
    ev_restored: "Une note a été remise",
    ev_flagged: "Quelqu’un n’a pas compris « {term} »",
    ev_note_flagged: "Quelqu’un n’a pas compris une note",
    ev_explained: "{who} a expliqué « {term} »",
    report_title: "Rapport",
    report_print: "Imprimer / PDF",
    report_download: "Télécharger (Markdown)",
    report_picture: "Le tableau",
    report_loading: "Préparation du rapport…",
    report_facilitator_only: "Seul·e l’animateur·rice peut ouvrir le rapport.",
    report_back: "Retour au tableau",
  },
  nl: {
    feed_heading: "Wie deed wat",
    feed_empty: "Nog geen wijzigingen.",
    feed_more: "Meer gebeurtenissen",
    feed_follow: "Het bord live volgen",
    feed_live: "Live",
    participant_n: "Deelnemer {n}",
    actor_facilitator: "De begeleider",
    actor_server: "Cobord",
    actor_viewer: "Scherm",
    ev_note_added: "{who} voegde een notitie toe",
    ev_text_edited: "{who} wijzigde de tekst van een notitie",
    ev_moved: "{who} verplaatste een notitie",
    ev_clustered: "{who} zette een notitie in een cluster",
    ev_deleted: "{who} verwijderde een notitie",
    ev_cluster_created: "{who} maakte een cluster",
    ev_cluster_renamed: "{who} hernoemde een cluster",
    ev_cluster_deleted: "{who} verwijderde een cluster",
    ev_phase_changed: "Fase: {phase}",
    ev_private_writing_revealed: "De privénotities zijn onthuld",
    ev_votes_revealed: "De stemmen zijn onthuld",
    // screens branch: one line for many moves; moderation in plain words
    ev_notes_moved: "{who} verplaatste {n} notities",
    ev_notes_clustered: "{who} zette {n} notities in clusters",
    ev_hidden: "Een notitie werd verborgen door de begeleider",
    ev_restored: "Een notitie werd teruggezet",
    ev_flagged: "Iemand begreep “{term}” niet",
    ev_note_flagged: "Iemand begreep een notitie niet",
    ev_explained: "{who} legde “{term}” uit",
    report_title: "Verslag",
    report_print: "Afdrukken / pdf",
    report_download: "Downloaden (Markdown)",
    report_picture: "Het bord",
    report_loading: "Verslag wordt voorbereid…",
    report_facilitator_only: "Alleen de begeleider kan het verslag openen.",
    report_back: "Terug naar het bord",
  },
  en: {
    feed_heading: "Who did what",
    feed_empty: "No changes yet.",
    feed_more: "More events",
    feed_follow: "Follow the live board",
    feed_live: "Live",
    participant_n: "Participant {n}",
    actor_facilitator: "The facilitator",
    actor_server: "Cobord",
    actor_viewer: "Screen",
    ev_note_added: "{who} added a note",
    ev_text_edited: "{who} edited a note's text",
    ev_moved: "{who} moved a note",
    ev_clustered: "{who} put a note in a cluster",
    ev_deleted: "{who} deleted a note",
    ev_cluster_created: "{who} created a cluster",
    ev_cluster_renamed: "{who} renamed a cluster",
    ev_cluster_deleted: "{who} deleted a cluster",
    ev_phase_changed: "Phase: {phase}",
    ev_private_writing_revealed: "Private notes revealed",
    ev_votes_revealed: "Votes revealed",
    // screens branch: one line for many moves; moderation in plain words
    ev_notes_moved: "{who} moved {n} notes",
    ev_notes_clustered: "{who} put {n} notes in clusters",
    ev_hidden: "A note was hidden by the facilitator",
    ev_restored: "A note was put back",
    ev_flagged: "Someone did not understand “{term}”",
    ev_note_flagged: "Someone did not understand a note",
    ev_explained: "{who} explained “{term}”",
    report_title: "Report",
    report_print: "Print / PDF",
    report_download: "Download (Markdown)",
    report_picture: "The board",
    report_loading: "Preparing the report…",
    report_facilitator_only: "Only the facilitator can open the report.",
    report_back: "Back to the board",
  },
};

export const HISTORY_STRINGS = D;

/** @param {string} key @param {Record<string, string | number>} [params] @returns {string} */
export function ht(key, params) {
  const lang = getLang();
  let s = (D[lang] && D[lang][key]) ?? D.en[key] ?? key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (_, k) =>
      params[k] === undefined ? `{${k}}` : typeof params[k] === "number" ? new Intl.NumberFormat(locale()).format(params[k]) : String(params[k]),
    );
  }
  return s;
}

/**
 * How an event's actor is named: a name, a pseudonym ("Participant 4") or a role.
 * @param {{actor?: string | null, actor_role?: string | null, actor_number?: number | null}} e an event of the replay API
 * @returns {string}
 */
export function actorName(e) {
  if (e.actor_role === "participant") {
    const pseudonym = e.actor_number ? ht("participant_n", { n: e.actor_number }) : ht("participant_n", { n: "?" });
    return e.actor && !/^Participant( \d+)?$/.test(e.actor) ? e.actor : pseudonym;
  }
  return ht(`actor_${e.actor_role}`);
}
