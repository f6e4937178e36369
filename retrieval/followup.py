"""Follow-up questions: whether a question leans on the previous exchange, and what it then asks.

Pure (no store, no model): ``resolve(question, previous)`` looks at the words of the question and
of the previous exchange (its question as it was read, its top answer, the answer's sentence and
article) and returns a ``Reading``: what the reader should read, what search should look for, and
the article to prefer. ``retrieval.answer.answer_in_conversation`` acts on it.

A question **leans** on the previous exchange when it has:

* a personal pronoun with nothing in the question it can stand for: "How old is she?", "When did
  he visit?" (not "What did Kim say he wanted?", nor "Who said he was delighted?", where "he" is
  the person asked for); likewise "it/its/they/them/their" with no noun before them in the clause
  ("Where is it based?", not "How heavy was the probe when it launched?", nor the "it" of "How much
  did it cost to build the Riverside Line?");
* "there" (not the existential "How many stops are there on the line?"), "then", or "that" /
  "those" standing alone ("Where was that?"; not "the update that caused it");
* only a question word left once question words, auxiliaries and pronouns are taken away ("Why?",
  "Where was that?", "How many were there?");
* an elliptic opener with a fragment: "And Kim?", "What about the Northgate Line?", "And in
  September?";
* (weakly) at most one content word and no name ("To what level?"), or a bare fragment ("Kim?").

What it then asks:

* a person pronoun is replaced by the person named in the previous answer (when a "who/which"
  question got a name), else the first name in the previous question, else in the answer's
  sentence ("How old is she?" → "How old is Priya Nandakumar?"); "it/they/its/their" by the
  previous answer when a "what/which/who" question got a name, else "it/its" by what the previous
  question asked about, its subject ("How much will it cost?" after "When is work on the scheme
  scheduled to begin?" → "How much will work on the scheme cost?"); "there" by the previous answer
  when it was a place ("How many spectators were there?" → "... were at Westmead Stadium?");
* a lone question word takes the rest of the previous question ("Where was that?" after "When did
  Putin and Kim last meet?" → "Where did Putin and Kim last meet?");
* a fragment replaces its counterpart in the previous question: the phrase after the same
  preposition ("in October" → "in September"), the phrase with the same head word ("single adult
  fare" → "child fare"), or the first name ("Harbourside United" → "Kingsbury").

Search looks for the rewritten question, plus the previous question's words when the question
kept its own wording, and the article that answered before is preferred. A question that leans on
nothing is returned as it is (``Reading.standalone``), so it is answered exactly as on its own.
With no previous exchange, a strong lean cannot be resolved: ``UnresolvedFollowup`` says what to
ask back ("Who do you mean by “he”?"); a weak one is answered as it stands.
"""

from dataclasses import dataclass

from index.analysis import STOPWORDS, question_terms
from retrieval.question_words import (
    AUXILIARIES,
    BE_FORMS,
    EVENT_VERBS,
    IRREGULAR_PARTICIPLES,
    OPENERS,
    PERSON_PRONOUNS,
    PLACE_PREPOSITIONS,
    POSSESSIVES,
    PREPOSITIONS,
    SUBJECT_JOINERS,
    THING_PRONOUNS,
    WH_ADJECTIVES,
    WH_WORDS,
    Token,
    is_content,
    name_like,
    name_runs,
    tokens_of,
    without_article,
)
from retrieval.types import Result

class UnresolvedFollowup(ValueError):
    """A follow-up question with no previous exchange to lean on; the message asks what it means."""


@dataclass(frozen=True)
class Exchange:
    """The previous exchange of a conversation: what was asked, as it was read, and the top answer.

    :param question: the question as it was read (its own follow-up resolved).
    :param answer: the top answer's text (None when nothing was answered).
    :param sentence: the sentence the answer stands in.
    :param article_id: the article the answer comes from.
    """

    question: str
    answer: str | None = None
    sentence: str | None = None
    article_id: int | None = None

    @classmethod
    def of(cls, result: Result) -> "Exchange":
        """The exchange a question and its ``Result`` make."""
        top = result.answers[0] if result.answers else None
        return cls(
            question=result.understood_as or result.question,
            answer=top.text if top else None,
            sentence=top.context if top else None,
            article_id=top.article_id if top else None,
        )


@dataclass(frozen=True)
class Reading:
    """What a question asks, in the light of the previous exchange.

    :param question: what the reader reads (the question itself when it stands alone).
    :param search: what search looks for.
    :param prefer_article: the article to read first (the one that answered before), or None.
    :param leans_on: the words it leaned on ("she", "there", "And …"), or None: it stands alone.
    :param referent: what a pronoun was taken to mean, when one was replaced.
    """

    question: str
    search: str
    prefer_article: int | None = None
    leans_on: str | None = None
    referent: str | None = None

    @property
    def standalone(self) -> bool:
        """Whether the question stands on its own (then it is answered exactly as without context)."""
        return self.leans_on is None


@dataclass(frozen=True)
class _Cue:
    """What a question leans on: its kind, the token (index) or fragment, and how strongly."""

    kind: str  # "person", "thing", "there", "then", "that", "wh", "fragment", "short"
    index: int | None
    strong: bool
    fragment: str = ""


def resolve(question: str, previous: Exchange | None) -> Reading:
    """What ``question`` asks after ``previous`` (None: nothing came before it).

    :raises UnresolvedFollowup: the question leans on an exchange and there is none.
    """
    standalone = Reading(question=question, search=question)
    cue = _cue(question)
    if cue is None or (previous is None and not cue.strong):
        return standalone
    if previous is None:
        raise UnresolvedFollowup(_clarification(question, cue))
    rewritten, referent, whole = _rewritten(question, cue, previous)
    search = rewritten if whole else f"{rewritten} {previous.question}"
    leans_on = cue.fragment or (tokens_of(question)[cue.index].text if cue.index is not None else question)
    return Reading(
        question=rewritten,
        search=search,
        prefer_article=previous.article_id,
        leans_on=leans_on,
        referent=referent,
    )


# --- what a question leans on ----------------------------------------------------------------------


def _cue(question: str) -> _Cue | None:
    """What the question leans on, or None when it stands alone."""
    tokens = tokens_of(question)
    if not tokens:
        return None
    opener = _opener(tokens)
    if opener:
        rest = tokens[opener:]
        if not any(t.lower in WH_WORDS or t.lower in AUXILIARIES for t in rest):
            if rest:
                fragment = question[rest[0].start : rest[-1].end]
                return _Cue("fragment", None, True, fragment)
            return None
        tokens = rest
    if _only_question_words(tokens) or _only_question_phrase(tokens):
        return _Cue("wh", None, True)
    for i, token in enumerate(tokens):
        word = token.lower
        if word in PERSON_PRONOUNS and not _person_bound(tokens, i):
            return _Cue("person", _index(question, token), True)
        if word in THING_PRONOUNS and not _thing_bound(tokens, i):
            return _Cue("thing", _index(question, token), True)
        if word == "there" and _there_leans(tokens, i):
            return _Cue("there", _index(question, token), True)
        if word == "then":
            return _Cue("then", _index(question, token), True)
        if word in ("that", "those") and _demonstrative(tokens, i):
            return _Cue("that", _index(question, token), True)
    names = name_runs(tokens)
    has_wh = any(t.lower in WH_WORDS for t in tokens)
    if not has_wh and not any(t.lower in AUXILIARIES for t in tokens) and len(tokens) <= 3:
        return _Cue("fragment", None, False, question.strip(" ?!.").strip())
    if has_wh and not names and sum(is_content(t) for t in tokens) <= 1:
        return _Cue("short", None, False)
    return None


def _index(question: str, token: Token) -> int:
    """The token's index among the whole question's tokens (an opener may have been cut)."""
    return next(i for i, t in enumerate(tokens_of(question)) if t.start == token.start)


def _opener(tokens: list[Token]) -> int:
    """How many tokens an elliptic opener takes at the start (0: none)."""
    words = [t.lower for t in tokens]
    for opener in OPENERS:
        parts = opener.split()
        if words[: len(parts)] == parts:
            return len(parts)
    return 0


def _only_question_words(tokens: list[Token]) -> bool:
    """A question word and nothing that says what about: "Why?", "Where was that?"."""
    if not any(t.lower in WH_WORDS for t in tokens):
        return False
    filler = WH_WORDS | WH_ADJECTIVES | AUXILIARIES | THING_PRONOUNS | EVENT_VERBS
    filler |= {"that", "this", "those", "there", "then", "so", "exactly", "again", "else", "and"}
    return all(t.lower in filler or t.lower in PREPOSITIONS for t in tokens)


def _only_question_phrase(tokens: list[Token]) -> bool:
    """A question phrase alone, naming only the kind of thing asked for: "What time?", "To what
    level?", "How many people?", "In which city?"."""
    at = 1 if tokens[0].lower in PREPOSITIONS else 0
    if at >= len(tokens) or tokens[at].lower not in ("what", "which", "how"):
        return False
    rest = tokens[at + 1 :]
    if tokens[at].lower == "how":
        if not rest or rest[0].lower not in WH_ADJECTIVES:
            return False
        rest = rest[1:]
    elif not rest:
        return False
    return len(rest) <= 2 and all(is_content(t) and t.lower not in EVENT_VERBS for t in rest)


def _main_auxiliary(tokens: list[Token]) -> int | None:
    """The index of the auxiliary after the question word ("did" in "When did he visit?")."""
    wh = next((i for i, t in enumerate(tokens) if t.lower in WH_WORDS), None)
    start = 0 if wh is None else wh + 1
    return next((i for i in range(start, len(tokens)) if tokens[i].lower in AUXILIARIES), None)


def _clause_start(tokens: list[Token]) -> int:
    """Where the clause after the question word and its auxiliary (or its verb) begins."""
    aux = _main_auxiliary(tokens)
    if aux is not None:
        return aux + 1
    wh = next((i for i, t in enumerate(tokens) if t.lower in WH_WORDS), -1)
    return wh + 2  # a subject question: skip its verb ("What happened to it?")


def _person_bound(tokens: list[Token], i: int) -> bool:
    """Whether a person pronoun can stand for someone in the question itself."""
    if name_runs(tokens[:i]):
        return True
    wh = next((t.lower for t in tokens if t.lower in WH_WORDS), "")
    before = tokens[i - 1].lower if i else ""
    # "Who said he was delighted?": the person asked for; "Who did he meet?": someone before
    return wh in ("who", "which", "whose") and i > 1 and before not in AUXILIARIES


def _thing_bound(tokens: list[Token], i: int) -> bool:
    """Whether "it/they/its/their" can stand for something in the question itself."""
    if tokens[i].lower == "it" and _extraposed(tokens, i):
        return True
    start = _clause_start(tokens)
    return any(is_content(tokens[j]) for j in range(start, i))


def _extraposed(tokens: list[Token], i: int) -> bool:
    """The "it" of "How much did it cost to build the Riverside Line?": a "to" clause with its own
    object follows."""
    for j in range(i + 1, len(tokens) - 2):
        if tokens[j].lower == "to" and any(is_content(t) for t in tokens[j + 2 :]):
            return True
    return False


def _there_leans(tokens: list[Token], i: int) -> bool:
    """A place "there", or an existential one with nothing said of what there is."""
    near = {tokens[j].lower for j in (i - 1, i + 1) if 0 <= j < len(tokens)}
    if not near & BE_FORMS:
        return True
    aux = _main_auxiliary(tokens)
    after_wh = range((aux + 1) if aux is not None else 0, len(tokens))
    return not any(is_content(tokens[j]) for j in after_wh if j != i)


def _demonstrative(tokens: list[Token], i: int) -> bool:
    """"that" standing for something said before, not a relative pronoun ("the update that ...")."""
    if i == len(tokens) - 1:
        return True
    before = tokens[i - 1].lower if i else ""
    return not before or before in WH_WORDS or before in AUXILIARIES or before in PREPOSITIONS


def _clarification(question: str, cue: _Cue) -> str:
    """What to ask back when a follow-up has nothing to lean on."""
    if cue.kind in ("person", "thing", "there", "then", "that"):
        word = tokens_of(question)[cue.index].text
        lead = {"person": "Who", "there": "Where", "then": "When"}.get(cue.kind, "What")
        how = "the name" if cue.kind == "person" else "what you mean"
        return f"{lead} do you mean by “{word}”? Please ask again with {how}."
    return "What are you asking about? Please ask the whole question."


# --- what it then asks -------------------------------------------------------------------------------


def _rewritten(question: str, cue: _Cue, previous: Exchange) -> tuple[str, str | None, bool]:
    """The question to read, the referent put in (if any), and whether it is a whole question of its
    own (else search adds the previous question's words)."""
    if cue.kind == "wh":
        return _with_question_word(question, previous.question), None, True
    if cue.kind == "fragment":
        return _fragment_in(cue.fragment, previous.question), None, True
    tokens = tokens_of(question)
    opener = _opener(tokens)
    text = question[tokens[opener].start :] if opener and opener < len(tokens) else question
    text = text[:1].upper() + text[1:]
    if cue.kind not in ("person", "thing", "there"):
        return text, None, False
    shift = len(question) - len(text)
    found = [t for t in tokens_of(question) if t.start >= shift]
    referent = None
    pieces, last = [], 0
    for token in found:
        replacement = _replacement(token, found, previous)
        if replacement is None:
            continue
        referent = referent or replacement[1]
        pieces.append(text[last : token.start - shift] + replacement[0])
        last = token.end - shift
    if referent is None:
        return text, None, False
    return "".join(pieces) + text[last:], referent, False


def _replacement(token: Token, tokens: list[Token], previous: Exchange) -> tuple[str, str] | None:
    """(text to put in, referent) for a pronoun or "there" that leans on the previous exchange."""
    word = token.lower
    i = tokens.index(token)
    if word in PERSON_PRONOUNS and not _person_bound(tokens, i):
        name = _person(previous)
        if name is None:
            return None
        following = tokens[i + 1].lower if i + 1 < len(tokens) else ""
        possessive = word in POSSESSIVES or (word == "her" and following and following not in STOPWORDS)
        return (_possessive(name) if possessive else name), name
    if word in THING_PRONOUNS and not _thing_bound(tokens, i):
        singular = word in ("it", "its", "itself")
        thing = _named_answer(previous, ("which", "what") if singular else ("which", "what", "who"))
        if thing is None and singular and not _named_answer(previous, ("who", "whom", "whose")):
            thing = _subject(previous.question)
        if thing is None:
            return None
        return (_possessive(thing) if word in POSSESSIVES else thing), thing
    if word == "there" and _there_leans(tokens, i):
        place = _place(previous)
        return (place, place.split(" ", 1)[1]) if place else None
    return None


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("'") else f"{name}'s"


def _question_word(question: str) -> str:
    tokens = tokens_of(question)
    return next((t.lower for t in tokens if t.lower in WH_WORDS), "")


def _named_answer(previous: Exchange, asked_with: tuple[str, ...]) -> str | None:
    """The previous answer, when a question of one of these kinds got a name for it."""
    if previous.answer and _question_word(previous.question) in asked_with and name_like(previous.answer):
        return without_article(previous.answer)
    return None


def _person(previous: Exchange) -> str | None:
    """Who "he/she" stands for: the name answered to "who/which", else the first name in the
    previous question, else in the answer's sentence."""
    answered = _named_answer(previous, ("who", "whom", "whose", "which"))
    if answered:
        return answered
    for text in (previous.question, previous.sentence or ""):
        runs = name_runs(tokens_of(text), people=True)
        if runs:
            return runs[0]
    return None


def _subject(question: str) -> str | None:
    """What a question asked about, when its answer was not a name for "it": the subject after its
    auxiliary ("work on the Millbridge flood defence scheme" in "When is work on the Millbridge flood
    defence scheme scheduled to begin?"; "the River Tarrow" in "How high did the River Tarrow peak at
    the gauge?"). None for a question whose question word is its subject ("Which operator runs ...?").
    """
    tokens = tokens_of(question)
    aux = _main_auxiliary(tokens)
    if aux is None or aux != _wh_phrase_end(tokens):
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


def _place(previous: Exchange) -> str | None:
    """"at Westmead Stadium": the previous answer with its preposition, when it named a place."""
    place = _named_answer(previous, ("where", "which", "what"))
    if place is None:
        return None
    preposition = "in"
    if previous.sentence:
        at = previous.sentence.find(previous.answer)
        before = tokens_of(previous.sentence[:at]) if at > 0 else []
        if before and before[-1].lower in PLACE_PREPOSITIONS:
            preposition = before[-1].lower
    return f"{preposition} {place}"


def _wh_phrase_end(tokens: list[Token]) -> int:
    """Where the question word's phrase ends ("How many people" | "did ..."), or 0 without one."""
    wh = next((i for i, t in enumerate(tokens) if t.lower in WH_WORDS), None)
    if wh is None:
        return 0
    aux = next((i for i in range(wh + 1, min(len(tokens), wh + 5)) if tokens[i].lower in AUXILIARIES), None)
    if aux is not None:
        return aux
    end = wh + 1
    while end < len(tokens) and tokens[end].lower in WH_ADJECTIVES:
        end += 1
    return end


def _with_question_word(question: str, previous: str) -> str:
    """"Where was that?" after "When did they meet?" → "Where did they meet?"."""
    asked = tokens_of(question)
    opener = _opener(asked)
    asked = asked[opener:]
    wh = next(i for i, t in enumerate(asked) if t.lower in WH_WORDS)
    end = wh + 1
    while end < len(asked) and asked[end].lower in WH_ADJECTIVES:
        end += 1
    while end < len(asked) and is_content(asked[end]) and asked[end].lower not in EVENT_VERBS:
        end += 1  # the kind of thing asked for: "What time", "To what level"
    phrase = question[asked[0].start : asked[end - 1].end] if asked[0].lower in PREPOSITIONS else question[
        asked[wh].start : asked[end - 1].end
    ]
    before = tokens_of(previous)
    cut = _wh_phrase_end(before)
    rest = previous[before[cut].start :] if cut < len(before) else ""
    if not cut:
        rest = previous[:1].lower() + previous[1:]
    phrase = phrase[:1].upper() + phrase[1:]
    return f"{phrase} {rest}".strip() if rest else f"{phrase}?"


def _fragment_in(fragment: str, previous: str) -> str:
    """"in September" into "What was inflation in October?" → "What was inflation in September?"."""
    parts = tokens_of(fragment)
    before = tokens_of(previous)
    if not parts or not before:
        return f"{previous} {fragment}".strip()
    if parts[0].lower in PREPOSITIONS:
        at = [i for i, t in enumerate(before) if t.lower == parts[0].lower]
        if at:
            start = at[-1]
            end = start + 1
            while end < len(before) and before[end].lower not in PREPOSITIONS and before[end].lower not in AUXILIARIES:
                end += 1
            return _spliced(previous, before, start, end, fragment)
    head = question_terms(parts[-1].text)
    for i in range(len(before) - 1, -1, -1):
        if head and question_terms(before[i].text) == head and is_content(before[i]):
            start = i
            while start > 0 and is_content(before[start - 1]) and before[start - 1].lower not in WH_WORDS:
                start -= 1
            return _spliced(previous, before, start, i + 1, without_article(fragment))
    names = name_runs(before)
    if name_like(fragment) and names:
        at = previous.find(names[0])
        return previous[:at] + without_article(fragment) + previous[at + len(names[0]) :]
    return f"{previous} {fragment}"


def _spliced(text: str, tokens: list[Token], start: int, end: int, replacement: str) -> str:
    """``text`` with tokens ``start`` to ``end`` (exclusive) replaced."""
    stop = tokens[end - 1].end
    return text[: tokens[start].start] + replacement + text[stop:]
