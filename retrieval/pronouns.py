"""Pronouns in a follow-up question: which of them lean on the previous exchange, and what each
stands for.

Part of the follow-up step (``retrieval.followup``, which ``retrieval.answer.answer_in_conversation``
calls before search): ``retrieval.followup`` finds what a question leans on and rewrites it; this
module says whether a pronoun ("she", "it", "them", "that", "there") is bound inside the question
itself, and what to put in its place from the previous exchange. Pure: words only, no model.

What a pronoun stands for:

* when the previous question asked "which/what/who" and its answer named an entity, that entity,
  as far as the pronoun fits it: "he/she/him/her/his" a person (a titled name, the answer to "who",
  to "which aide", or two or three capitalised words), "it/its/that" an organisation or a thing (a
  name with "the" or a word like "United", "Agency", "Treaty"; the answer to "which company", "which
  town"), "they/them/their" any of them (an organisation, a plural, a person). The answer's name is
  the whole answer or the name it begins with ("Yuri Ushakov, a Kremlin aide");
* else "he/she" the first name in the previous question, else the first of two or three words in
  the answer's sentence, that is no organisation's; "it/its" what the previous question asked
  about, its subject, unless its answer named a person or people; "there" the previous answer with
  its preposition, when it named a place.

Object forms ("him", "her", "them") are never the subject of their own clause: "When did Putin
first meet him?" leans on the previous exchange, "... before recalling them" does not.
"""

import re
from typing import TYPE_CHECKING

from qabot.index.analysis import STOPWORDS
from qabot.retrieval.question_words import (
    AUXILIARIES,
    BE_FORMS,
    EVENT_VERBS,
    IRREGULAR_PARTICIPLES,
    NAME_JOINERS,
    ORGANISATION_WORDS,
    PERSON_NOUNS,
    PERSON_PRONOUNS,
    PLACE_PREPOSITIONS,
    POSSESSIVES,
    PREPOSITIONS,
    SUBJECT_JOINERS,
    SUBORDINATORS,
    THING_NOUNS,
    THING_PRONOUNS,
    TITLES,
    WH_WORDS,
    Token,
    clause_start,
    is_content,
    main_auxiliary,
    name_like,
    name_runs,
    tokens_of,
    wh_phrase_end,
    without_article,
)

if TYPE_CHECKING:
    from qabot.retrieval.followup import Exchange

#: Kinds of entity an answer may name; EITHER: a person or a thing, as far as its words tell.
PERSON, THING, PLURAL, EITHER = "person", "thing", "plural", "person or thing"


# --- whether a pronoun leans on the previous exchange -------------------------------------------


def person_bound(tokens: list[Token], i: int) -> bool:
    """Whether a person pronoun can stand for someone in the question itself."""
    if _object_form(tokens, i):
        # "When did Putin first meet him?": not Putin; "Did Kim say Putin had met him?": another clause
        return _in_another_clause(tokens, i)
    if name_runs(tokens[:i]):
        return True
    wh = next((t.lower for t in tokens if t.lower in WH_WORDS), "")
    before = tokens[i - 1].lower if i else ""
    # "Who said he was delighted?": the person asked for; "Who did he meet?": someone before
    return wh in ("who", "which", "whose") and i > 1 and before not in AUXILIARIES


def thing_bound(tokens: list[Token], i: int) -> bool:
    """Whether "it/they/its/their/them" can stand for something in the question itself."""
    if tokens[i].lower == "it" and _extraposed(tokens, i):
        return True
    if _object_form(tokens, i):
        return _in_another_clause(tokens, i)  # "... sell before recalling them": the kettles
    start = clause_start(tokens)
    return any(is_content(tokens[j]) for j in range(start, i))


def there_leans(tokens: list[Token], i: int) -> bool:
    """A place "there", or an existential one with nothing said of what there is."""
    near = {tokens[j].lower for j in (i - 1, i + 1) if 0 <= j < len(tokens)}
    if not near & BE_FORMS:
        return True
    aux = main_auxiliary(tokens)
    after_wh = range((aux + 1) if aux is not None else 0, len(tokens))
    return not any(is_content(tokens[j]) for j in after_wh if j != i)


def demonstrative(tokens: list[Token], i: int) -> bool:
    """"that" standing for something said before, not a relative pronoun ("the update that ...")."""
    if i == len(tokens) - 1:
        return True
    before = tokens[i - 1].lower if i else ""
    return not before or before in WH_WORDS or before in AUXILIARIES or before in PREPOSITIONS


def _that_alone(tokens: list[Token], i: int) -> bool:
    """A demonstrative "that" with no noun of its own ("Who founded that?", "When was that signed?"),
    not "that company"."""
    if i + 1 == len(tokens) or not is_content(tokens[i + 1]):
        return True
    return i > 0 and tokens[i - 1].lower in BE_FORMS and _participle(tokens[i + 1])


def _extraposed(tokens: list[Token], i: int) -> bool:
    """The "it" of "How much did it cost to build the Riverside Line?": a "to" clause with its own
    object follows."""
    for j in range(i + 1, len(tokens) - 2):
        if tokens[j].lower == "to" and any(is_content(t) for t in tokens[j + 2 :]):
            return True
    return False


def _object_form(tokens: list[Token], i: int) -> bool:
    """"him", "them", or "her" that is not a possessive ("greet her", not "her tram")."""
    word = tokens[i].lower
    return word in ("him", "them") or (word == "her" and not _her_possessive(tokens, i))


def _her_possessive(tokens: list[Token], i: int) -> bool:
    following = tokens[i + 1].lower if i + 1 < len(tokens) else ""
    return bool(following) and following not in STOPWORDS


def _in_another_clause(tokens: list[Token], i: int) -> bool:
    """Whether a clause of its own ("before ...", "that ...") begins after something it can stand for."""
    seen = False
    for token in tokens[:i]:
        if token.lower in SUBORDINATORS and seen:
            return True
        seen = seen or is_content(token)
    return False


# --- what it stands for -------------------------------------------------------------------------


def replacement(
    token: Token, tokens: list[Token], previous: "Exchange", *, named_only: bool = False
) -> tuple[str, str] | None:
    """(text to put in, referent) for a pronoun or "there" that leans on the previous exchange.

    :param named_only: only what the previous answer named (not the previous question's subject).
    """
    word = token.lower
    i = tokens.index(token)
    if word in PERSON_PRONOUNS and not person_bound(tokens, i):
        name = _person(previous)
        if name is None:
            return None
        possessive = word in POSSESSIVES or (word == "her" and _her_possessive(tokens, i))
        return (_possessive(name) if possessive else name), name
    if word in THING_PRONOUNS and not thing_bound(tokens, i):
        singular = word in ("it", "its", "itself")
        thing = answered(previous, (THING,) if singular else (THING, PERSON, PLURAL))
        if thing is None and singular and not named_only and answered(previous, (PERSON, PLURAL)) is None:
            thing = _subject(previous.question)
        if thing is None:
            return None
        return (_possessive(thing) if word in POSSESSIVES else thing), thing
    if word == "that" and demonstrative(tokens, i) and _that_alone(tokens, i):
        thing = answered(previous, (THING,))
        return (thing, thing) if thing else None
    if word == "there" and there_leans(tokens, i) and not named_only:
        place = _place(previous)
        return (place, place.split(" ", 1)[1]) if place else None
    return None


def answered(previous: "Exchange", kinds: tuple[str, ...]) -> str | None:
    """The entity the previous answer named, when a "which/what/who" question got it and it is of
    one of these kinds (``PERSON``, ``THING``, ``PLURAL``)."""
    wh = _question_word(previous.question)
    if not previous.answer or previous.answer == previous.sentence:  # a whole sentence names no one
        return None
    name = answer_name(previous.answer) if wh in ("which", "what", "who", "whom", "whose") else None
    if name is None:
        return None
    kind = _kind(previous, name, wh)
    return name if kind in kinds or (kind == EITHER and ({PERSON, THING} & set(kinds))) else None


def answer_name(answer: str) -> str | None:
    """The name an answer gives: the whole of it ("the Outer Space Treaty" → "Outer Space Treaty"), or
    the name a short answer begins with before a comma or bracket ("Yuri Ushakov, a Kremlin aide");
    else None."""
    if name_like(answer):
        return without_article(answer)
    text = without_article(answer)
    tokens = tokens_of(text)
    runs = name_runs(tokens)
    if not runs or not text.startswith(runs[0]) or len(tokens) > 10:
        return None
    length = len(tokens_of(runs[0]))
    return runs[0] if length < len(tokens) and re.search(r"[,(–—]", tokens[length].gap) else None


def _kind(previous: "Exchange", name: str, wh: str) -> str:
    """Whether the answer's name is a person's, an organisation's or a thing's, or several."""
    words = tokens_of(name)
    if any(t.lower == "and" for t in words):
        return PLURAL  # "Labour and the Greens", "Putin and Kim"
    if _organisation(name) or re.match(r"(?i)the\s", previous.answer.strip()):
        return THING
    if tokens_of(previous.answer)[0].lower.rstrip(".") in TITLES or wh in ("who", "whom", "whose"):
        return PERSON
    asked = _asked_noun(previous.question)
    if asked in PERSON_NOUNS:
        return PERSON
    if asked in THING_NOUNS or len(words) == 1:
        return THING
    return EITHER  # two or three capitalised words, of a kind the question left open


def _organisation(name: str) -> bool:
    """A name that is no person's: a word like "United" or "Agency", "of", a figure, over three words."""
    words = tokens_of(name)
    return (
        len(words) > 3
        or any(re.sub(r"['’]s?$", "", t.lower) in ORGANISATION_WORDS for t in words)
        or any(t.lower in NAME_JOINERS - {"and", "&"} or any(c.isdigit() for c in t.text) for t in words)
    )


def _asked_noun(question: str) -> str | None:
    """The kind of thing a "which/what" question asks for ("aide" in "Which Kremlin aide said ...?"),
    when it is one of the known nouns."""
    tokens = tokens_of(question)
    wh = next((i for i, t in enumerate(tokens) if t.lower in WH_WORDS), None)
    if wh is None or tokens[wh].lower not in ("which", "what"):
        return None
    asked = None
    for token in tokens[wh + 1 :]:
        if token.lower in AUXILIARIES or not is_content(token):
            break
        word = token.lower
        for form in (word, word[:-1] if word.endswith("s") else word):
            if form in PERSON_NOUNS or form in THING_NOUNS:
                asked = form
                break
    return asked


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("'") else f"{name}'s"


def _question_word(question: str) -> str:
    return next((t.lower for t in tokens_of(question) if t.lower in WH_WORDS), "")


def _person(previous: "Exchange") -> str | None:
    """Who "he/she" stands for: the person the previous answer named, else the first name in the
    previous question, else in the answer's sentence, that is no organisation's nor the answer's."""
    name = answered(previous, (PERSON,))
    if name:
        return name
    other = answered(previous, (THING, PLURAL))
    for text, least in ((previous.question, 1), (previous.sentence or "", 2)):
        for run in name_runs(tokens_of(text), people=True):
            run = re.sub(r"['’]s$", "", run)
            # a sentence's lone capitalised word is as often no one's name ("Traders on Dock Street")
            if not _organisation(run) and run != other and len(tokens_of(run)) >= least:
                return run
    return None


def _subject(question: str) -> str | None:
    """What a question asked about, when its answer was not a name for "it": the subject after its
    auxiliary ("work on the Millbridge flood defence scheme" in "When is work on the Millbridge flood
    defence scheme scheduled to begin?"; "the River Tarrow" in "How high did the River Tarrow peak at
    the gauge?"). None for a question whose question word is its subject ("Which operator runs ...?").
    """
    tokens = tokens_of(question)
    aux = main_auxiliary(tokens)
    if aux is None or aux != wh_phrase_end(tokens):
        return None
    bare_verb = tokens[aux].lower not in BE_FORMS | {"has", "have", "had"}  # "did it peak", "will it cost"
    end = aux + 1
    while end < len(tokens):
        token = tokens[end]
        if token.lower in SUBJECT_JOINERS:
            ahead = next((t for t in tokens[end + 1 :] if t.lower not in SUBJECT_JOINERS), None)
            if ahead is None or not is_content(ahead):
                break
        elif not is_content(token) or token.lower in EVENT_VERBS:
            break
        elif bare_verb and not token.capitalised and end > aux + 1 and _ends_clause(tokens, end + 1):
            break  # the verb: "the new tram line | cost", "the River Tarrow | peak at ..."
        elif not bare_verb and not token.capitalised and _participle(token):
            break  # "the Coastal Cup final | played"
        end += 1
    while end > aux + 1 and not is_content(tokens[end - 1]):
        end -= 1
    if end == aux + 1 or tokens[aux + 1].capitalised and name_runs(tokens[aux + 1 : end], people=True):
        return None  # a person ("Putin"): not what "it" stands for
    return question[tokens[aux + 1].start : tokens[end - 1].end]


def _ends_clause(tokens: list[Token], i: int) -> bool:
    """Whether a verb at ``i - 1`` could end the subject: nothing, a function word or a name follows."""
    return i >= len(tokens) or not is_content(tokens[i]) or tokens[i].capitalised


def _participle(token: Token) -> bool:
    """"scheduled", "being", "built": the verb after "is/was/has" that ends a subject."""
    word = token.lower
    return word in IRREGULAR_PARTICIPLES or (word.endswith(("ed", "ing")) and len(word) > 4)


def _place(previous: "Exchange") -> str | None:
    """"at Westmead Stadium": the previous answer with its preposition, when it named a place."""
    wh = _question_word(previous.question)
    if not previous.answer or wh not in ("where", "which", "what") or not name_like(previous.answer):
        return None
    place = without_article(previous.answer)
    preposition = "in"
    if previous.sentence:
        at = previous.sentence.find(previous.answer)
        before = tokens_of(previous.sentence[:at]) if at > 0 else []
        if before and before[-1].lower in PLACE_PREPOSITIONS:
            preposition = before[-1].lower
    return f"{preposition} {place}"
