"""The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980).

A plain, dependency-free implementation of the original algorithm, so that "annotation",
"annotated" and "annotations" meet as one term. Words of one or two letters and words with
digits are returned unchanged. Results are cached: a portfolio has a few tens of thousands of
distinct words.
"""

from __future__ import annotations

from functools import lru_cache

_VOWELS = frozenset("aeiou")


def _is_consonant(word: str, i: int) -> bool:
    ch = word[i]
    if ch in _VOWELS:
        return False
    if ch == "y":
        return i == 0 or not _is_consonant(word, i - 1)
    return True


def _measure(stem: str) -> int:
    """m in [C](VC)^m[V]: the number of vowel-consonant sequences."""
    m = 0
    previous_vowel = False
    for i in range(len(stem)):
        consonant = _is_consonant(stem, i)
        if consonant and previous_vowel:
            m += 1
        previous_vowel = not consonant
    return m


def _has_vowel(stem: str) -> bool:
    return any(not _is_consonant(stem, i) for i in range(len(stem)))


def _ends_double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _is_consonant(word, len(word) - 1)


def _ends_cvc(word: str) -> bool:
    """consonant-vowel-consonant, the last consonant not w, x or y ("hop", not "snow")."""
    if len(word) < 3:
        return False
    return (
        _is_consonant(word, len(word) - 3)
        and not _is_consonant(word, len(word) - 2)
        and _is_consonant(word, len(word) - 1)
        and word[-1] not in "wxy"
    )


def _replace(word: str, suffix: str, replacement: str, min_measure: int) -> str | None:
    """If word ends with suffix: the replaced word when the stem's measure is enough, else word.

    None when the suffix does not match (so that the caller tries the next rule).
    """
    if not word.endswith(suffix):
        return None
    stem = word[: len(word) - len(suffix)]
    if _measure(stem) > min_measure:
        return stem + replacement
    return word


def _step1ab(word: str) -> str:
    if word.endswith(("sses", "ies")):
        word = word[:-2]
    elif word.endswith("ss"):
        pass
    elif word.endswith("s"):
        word = word[:-1]

    if word.endswith("eed"):
        if _measure(word[:-3]) > 0:
            word = word[:-1]
        return word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
            word = word[: -len(suffix)]
            if word.endswith(("at", "bl", "iz")):
                return word + "e"
            if _ends_double_consonant(word) and word[-1] not in "lsz":
                return word[:-1]
            if _measure(word) == 1 and _ends_cvc(word):
                return word + "e"
            return word
    return word


def _step1c(word: str) -> str:
    if word.endswith("y") and _has_vowel(word[:-1]):
        return word[:-1] + "i"
    return word


_STEP2 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("izer", "ize"),
    ("abli", "able"),
    ("alli", "al"),
    ("entli", "ent"),
    ("eli", "e"),
    ("ousli", "ous"),
    ("ization", "ize"),
    ("ation", "ate"),
    ("ator", "ate"),
    ("alism", "al"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("biliti", "ble"),
)
_STEP3 = (
    ("icate", "ic"),
    ("ative", ""),
    ("alize", "al"),
    ("iciti", "ic"),
    ("ical", "ic"),
    ("ful", ""),
    ("ness", ""),
)
_STEP4 = (
    "al",
    "ance",
    "ence",
    "er",
    "ic",
    "able",
    "ible",
    "ant",
    "ement",
    "ment",
    "ent",
    "ion",
    "ou",
    "ism",
    "ate",
    "iti",
    "ous",
    "ive",
    "ize",
)


def _apply_first(word: str, rules: tuple[tuple[str, str], ...], min_measure: int) -> str:
    for suffix, replacement in rules:
        result = _replace(word, suffix, replacement, min_measure)
        if result is not None:
            return result
    return word


def _step4(word: str) -> str:
    for suffix in _STEP4:
        if not word.endswith(suffix):
            continue
        stem = word[: len(word) - len(suffix)]
        if suffix == "ion" and not stem.endswith(("s", "t")):
            return word
        if _measure(stem) > 1:
            return stem
        return word
    return word


def _step5(word: str) -> str:
    if word.endswith("e"):
        stem = word[:-1]
        m = _measure(stem)
        if m > 1 or (m == 1 and not _ends_cvc(stem)):
            word = stem
    if word.endswith("ll") and _measure(word) > 1:
        word = word[:-1]
    return word


@lru_cache(maxsize=200_000)
def porter_stem(word: str) -> str:
    """The Porter stem of a lowercase word ("annotations" → "annot", "tracking" → "track")."""
    if len(word) <= 2 or not word.isalpha():
        return word
    word = _step1ab(word)
    word = _step1c(word)
    word = _apply_first(word, _STEP2, 0)
    word = _apply_first(word, _STEP3, 0)
    word = _step4(word)
    return _step5(word)


# Porter leaves apart some forms of one word that a reader takes as the same:
# * step 1c turns a final y into i, so a -y noun keeps an i that its -ic, -ous, -ical, -ize and
#   -ification relatives lose: "anomaly" → "anomali" but "anomalous" → "anomal", "classify" →
#   "classifi" but "classification" → "classif", "technology" → "technologi" but
#   "technological" → "technolog";
# * the Latin -scribe / -script pair: "transcribe" → "transcrib", "transcription" →
#   "transcript".
# `stem` joins them: a final consonant + i is dropped after -if (the -ify verbs) and when at
# least six letters remain (shorter stems are too often different words: "count" / "county",
# "part" / "party", "polic" / "polici"), and a final "scrib" becomes "script".
_VARIANT_MIN_BASE = 6


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Porter stem with the variants above joined ("anomalies", "anomalous" → "anomal")."""
    term = porter_stem(word)
    if len(term) < 4 or not term.isalpha():
        return term
    if term.endswith("i") and term[-2] not in _VOWELS and term[-2] != "y":
        if term.endswith("ifi") or len(term) - 1 >= _VARIANT_MIN_BASE:
            return term[:-1]
        return term
    if term.endswith("scrib"):
        return term[:-1] + "pt"
    return term
