"""Follow-up questions: whether a question leans on the previous exchange, and what it then asks.

The step before search for a question asked in a conversation: ``resolve(question, previous)``
looks at the words of the question and of the previous exchange (its question as it was read, its
top answer, the answer's sentence and article) and returns a ``Reading``: what the reader should
read, what search should look for, and the article to prefer;
``retrieval.answer.answer_in_conversation`` acts on it. What a pronoun stands for is
``retrieval.pronouns``. Pure (no store, no model).

A question **leans** on the previous exchange when it has:

* a personal pronoun with nothing in the question it can stand for: "How old is she?", "When did
  he visit?" (not "What did Kim say he wanted?", nor "Who said he was delighted?", where "he" is
  the person asked for); likewise "it/its/they/their" with no noun before them in the clause
  ("Where is it based?", not "How heavy was the probe when it launched?", nor the "it" of "How much
  did it cost to build the Riverside Line?"); "him/her/them" as an object, unless in a clause of
  its own ("When did Putin first meet him?", not "... before recalling them");
* "there" (not the existential "How many stops are there on the line?"), "then", or "that" /
  "those" standing alone ("Where was that?", "Who founded that?"; not "the update that caused it");
* only a question word left once question words, auxiliaries and pronouns are taken away ("Why?",
  "Where was that?", "How many were there?");
* an elliptic opener with a fragment: "And Kim?", "What about the Northgate Line?", "And in
  September?";
* (weakly) at most one content word and no name ("To what level?"), or a bare fragment ("Kim?").

What it then asks:

* a pronoun is replaced by what it stands for (``retrieval.pronouns``): after a "which/what/who"
  question whose answer named an entity, that entity as far as the pronoun fits it ("How old is
  she?" after "Who drove the first tram?" "Priya Nandakumar" → "How old is Priya Nandakumar?"; "How
  many did it recall?" after "Which company makes the Brio kettle?" "Lumora Home" → "How many did
  Lumora Home recall?"; "Where is it?" → "Where is Lumora Home?"); else "he/she" by the first name
  in the previous question, else in the answer's sentence, "it/its" by what the previous question
  asked about, its subject ("How much will it cost?" after "When is work on the scheme scheduled to
  begin?" → "How much will work on the scheme cost?"), and "there" by the previous answer when it
  was a place ("How many spectators were there?" → "... were at Westmead Stadium?");
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

from qabot.index.analysis import question_terms
from qabot.retrieval.pronouns import demonstrative, person_bound, replacement, there_leans, thing_bound
from qabot.retrieval.question_words import (
    AUXILIARIES,
    EVENT_VERBS,
    OPENERS,
    PERSON_PRONOUNS,
    PREPOSITIONS,
    THING_PRONOUNS,
    WH_ADJECTIVES,
    WH_WORDS,
    Token,
    is_content,
    name_like,
    name_runs,
    tokens_of,
    wh_phrase_end,
    without_article,
)
from qabot.retrieval.types import Result


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
        if word in PERSON_PRONOUNS and not person_bound(tokens, i):
            return _Cue("person", _index(question, token), True)
        if word in THING_PRONOUNS and not thing_bound(tokens, i):
            return _Cue("thing", _index(question, token), True)
        if word == "there" and there_leans(tokens, i):
            return _Cue("there", _index(question, token), True)
        if word == "then":
            return _Cue("then", _index(question, token), True)
        if word in ("that", "those") and demonstrative(tokens, i):
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
        if _asks_about_a_pronoun(question):  # "Where is it?" after "Which company ...?" "Lumora Home"
            rewritten, referent = _with_referents(question, previous, named_only=True)
            if referent:
                return rewritten, referent, False
        return _with_question_word(question, previous.question), None, True
    if cue.kind == "fragment":
        return _fragment_in(cue.fragment, previous.question), None, True
    if cue.kind == "then":
        return _without_opener(question), None, False
    rewritten, referent = _with_referents(question, previous, named_only=False)
    return rewritten, referent, False


def _asks_about_a_pronoun(question: str) -> bool:
    """"Where is it?", "Who are they?", "How big is it?": a lone question word asked of "it/they", not
    of the event ("When was it?", "Why did it happen?")."""
    words = {t.lower for t in tokens_of(question)}
    return bool(words & THING_PRONOUNS) and not words & (EVENT_VERBS | {"when", "why"})


def _without_opener(question: str) -> str:
    """"And when was it due to finish?" → "When was it due to finish?"."""
    tokens = tokens_of(question)
    opener = _opener(tokens)
    text = question[tokens[opener].start :] if opener and opener < len(tokens) else question
    return text[:1].upper() + text[1:]


def _with_referents(question: str, previous: Exchange, *, named_only: bool) -> tuple[str, str | None]:
    """The question (without its opener) with each pronoun that leans on ``previous`` replaced, and
    the first referent put in (None: nothing was)."""
    text = _without_opener(question)
    shift = len(question) - len(text)
    found = [t for t in tokens_of(question) if t.start >= shift]
    referent = None
    pieces, last = [], 0
    for token in found:
        replaced = replacement(token, found, previous, named_only=named_only)
        if replaced is None:
            continue
        referent = referent or replaced[1]
        pieces.append(text[last : token.start - shift] + replaced[0])
        last = token.end - shift
    if referent is None:
        return text, None
    return "".join(pieces) + text[last:], referent


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
    cut = wh_phrase_end(before)
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
