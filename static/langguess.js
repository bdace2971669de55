// @ts-check
// Which of the board's languages (fr / nl / en) a note is written in, guessed from its words, so a
// French sentence typed on an English interface is not tagged EN (and read aloud in English).
// Small on purpose: the most frequent short words of each language, plus a few letters that only one
// of the three uses. Words the languages share ("de", "en", "in", "is", "je") count for each of them,
// so they cancel out. No guess (null) until the text gives clear evidence: the composer then keeps
// what the person picked, or the interface language.

/** @type {Record<string, Set<string>>} */
const WORDS = {
  fr: new Set(
    ("le la les un une des du de et est en que qui pour pas sur dans ce cette ces il elle ils elles nous vous on au aux avec " +
      "plus mais ou ne je tu se sont être avoir très faut fait peut son sa ses leur leurs notre nos votre vos tout tous toutes " +
      "comme aussi quand y a été sans chez où donc parce car moins bien trop même ici là mon ma mes lui c'est j'ai qu'il n'est").split(" "),
  ),
  nl: new Set(
    ("de het een en van is dat die in op te met voor niet zijn er maar ook als bij naar om wat we wij je ik hij zij ze nog meer " +
      "geen dan hebben heeft wordt worden kan kunnen moet moeten graag veel hier daar deze dit wel zo al of mijn onze jullie " +
      "hun ons u uw door over tegen zonder waar want omdat wanneer zou zouden heel echt beter minder").split(" "),
  ),
  en: new Set(
    ("the a an and of to is in that it for on with as are be this not we you they at by from or but more have has should can " +
      "need there their our your my i he she was were will would could been about which what when where who why how very too " +
      "also just only so if than then them these those into out up do does don't it's i'm").split(" "),
  ),
};

const MIN_WORDS = 3; // fewer words than this: no guess
const MIN_LEAD = 2; // the winner's hits over the runner-up's

/**
 * @param {string} text
 * @param {string[]} [allowed] the board's languages (others are never guessed)
 * @returns {string | null} "fr" | "nl" | "en", or null when the text does not say clearly
 */
export function guessLang(text, allowed = ["fr", "nl", "en"]) {
  const lower = text.toLowerCase().replace(/[’`]/g, "'");
  const words = lower.match(/[\p{L}']+/gu) || [];
  if (words.length < MIN_WORDS) return null;
  /** @type {Record<string, number>} */
  const score = { fr: 0, nl: 0, en: 0 };
  for (const raw of words) {
    // "l'eau", "d'accord", "qu'on": French elisions count as French words.
    if (/^(?:l|d|qu|n|s|j|c)'\p{L}/u.test(raw)) score.fr += 1;
    const word = raw.replace(/^'+|'+$/g, "");
    for (const lang of Object.keys(WORDS)) if (WORDS[lang].has(word)) score[lang] += 1;
  }
  // Letters only one of the three writes often: French accents, the Dutch "ij".
  score.fr += Math.min(3, (lower.match(/[éèêàçùâîôûœ]/g) || []).length);
  score.nl += Math.min(3, (lower.match(/ij/g) || []).length);
  const ranked = allowed.filter((l) => l in score).sort((a, b) => score[b] - score[a]);
  if (!ranked.length) return null;
  const [first, second] = ranked;
  const lead = score[first] - (second ? score[second] : 0);
  return score[first] >= 2 && lead >= MIN_LEAD ? first : null;
}
