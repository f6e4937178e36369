"""The console: the bot's chat in a terminal, over the same collection, without Telegram.

Each line read is a question, answered with ``answer_in_conversation()`` (a follow-up of the
previous question is read in its light, ``bot/conversation.py``), printed as plain text (as
``qabot ask`` prints it) and kept with the collection's questions as the bot keeps them (``/stats``
counts them), or a command: ``/add``, ``/list``, ``/remove``, ``/stats``, ``/help``, ``/quit``.
Lines come from any text stream, so a script can drive it (``qabot console < script.txt``).
Without a collection the console still starts: the first ``/add`` creates it, and until then nothing is created.

Pasting an article after ``/add`` has its own prompt and ends with a line holding only ``.``;
``/cancel``, Ctrl-C or the end of the input (Ctrl-D) cancels it and adds nothing.
"""

import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from qabot.bot.conversation import Conversations, note
from qabot.bot.formatting import articles_table, plural, result_as_text, stats_as_text
from qabot.index.bm25 import EmptyIndex
from qabot.index.drafts import from_text, store_draft
from qabot.index.engine import IndexUnavailable
from qabot.index.ingest import read_source
from qabot.index.store import ArticleNotFound, ArticleRefused, Store
from qabot.retrieval.answer import answer_in_conversation
from qabot.retrieval.embeddings import embed_missing
from qabot.retrieval.followup import UnresolvedFollowup

log = logging.getLogger(__name__)

HELP = """Type a question and press Enter. Commands:
  /add FILE|URL   add an article from a .txt/.md/.html/.pdf file or a web page
  /add            add pasted text (a first line that looks like a title is the title); end with a line holding only "."
                  (/cancel, Ctrl-C or Ctrl-D: add nothing)
  /list           list the articles
  /remove ID      remove an article
  /stats          articles, chunks and questions asked
  /help           this help
  /quit           leave (or quit, exit, Ctrl-D, Ctrl-C)"""
#: The prompts at a terminal: for a question or command, and for each line of a pasted article.
PROMPT = "> "
PASTE_PROMPT = "paste> "
END_OF_PASTE = "."
CANCEL_PASTE = "/cancel"
PASTE_HELP = (
    f'Paste the article (a first line that looks like a title is its title), then a line with only "{END_OF_PASTE}". '
    f"{CANCEL_PASTE}, Ctrl-C or Ctrl-D adds nothing."
)
PASTE_CANCELLED = "Paste cancelled: nothing was added."


#: Reads the next line, showing the prompt at a terminal; the line with its line break, "" at the
#: end of the input. At a terminal Ctrl-C raises KeyboardInterrupt.
ReadLine = Callable[[str], str]


class Console:
    """A chat session over a collection: feed it lines with ``handle``, or ``run`` it on a stream.

    :param store: the collection, or the path of one that does not exist yet (``/add`` creates it).
    :param reader: the reader ``answer()`` uses.
    :param out: where replies are written.
    :param allow_private_urls: let ``/add`` fetch loopback and private addresses.
    :param encoder: the sentence encoder for hybrid search and the embeddings of added articles,
        or None for BM25 alone.
    :param engine: ``QABOT_INDEX``, for a collection the console opens itself.
    """

    def __init__(
        self, store: Store | Path, reader, *, out: TextIO, allow_private_urls: bool = False, encoder=None,
        engine: str | None = None,
    ):
        self.store = store if isinstance(store, Store) else None
        self.engine = engine
        self.path = self.store.path if self.store is not None else Path(store)
        self.opened = False  # whether the console opened the store (and so closes it)
        self.reader = reader
        self.encoder = encoder
        self.out = out
        self.allow_private_urls = allow_private_urls
        self.conversation = Conversations(max_conversations=1)  # the previous exchange, for follow-ups

    def say(self, text: str) -> None:
        """Write one reply."""
        print(text, file=self.out, flush=True)

    def collection(self, *, create: bool = False) -> Store | None:
        """The collection, opened once it exists (or, with ``create``, created); None until then."""
        if self.store is None and (create or self.path.exists()):
            self.store, self.opened = Store(self.path, engine=self.engine), True
        return self.store

    def close(self) -> None:
        """Close the collection if the console opened it."""
        if self.opened:
            self.store.close()

    def _none_yet(self) -> bool:
        """Say so and return True when there is no collection yet."""
        if self.collection() is not None:
            return False
        self.say(f"There is no collection at {self.path} yet: /add FILE|URL creates it.")
        return True

    def run(self, read: ReadLine) -> None:
        """Read and handle lines until ``/quit`` or the end of the input."""
        if self.collection() is None:
            held = f"no collection at {self.path} yet (/add creates it)"
        else:
            held = f"{plural(self.store.counts()['articles'], 'article')} in {self.path}"
        self.say(f"qabot console: {held}. Ask a question, or /help.")
        while line := read(PROMPT):
            if not self.handle(line.strip(), read):
                return

    def handle(self, line: str, read: ReadLine) -> bool:
        """Handle one line (``read`` supplies the text pasted after ``/add``); False to leave."""
        if not line:
            return True
        if line.strip().lower() in ("quit", "exit"):  # what people type to leave a prompt: no question
            return False
        if not line.startswith("/"):
            self.ask(line)
            return True
        command, _, argument = line.partition(" ")
        argument = argument.strip()
        if command in ("/quit", "/exit"):
            return False
        if command == "/help":
            self.say(HELP)
        elif command == "/add":
            self.add(argument, read)
        elif command == "/list":
            self.list()
        elif command == "/remove":
            self.remove(argument)
        elif command == "/stats":
            if not self._none_yet():
                self.say(stats_as_text(self.store.stats()))
        else:
            self.say(f"Unknown command {command}. Type /help for the commands.")
        return True

    def ask(self, question: str) -> None:
        """Answer a question: the answer, its sentence and source, as ``qabot ask`` prints it; a
        follow-up of the previous question (within a few minutes) says first how it was read."""
        if self._none_yet():
            return
        try:
            result = answer_in_conversation(
                question,
                previous=self.conversation.previous("console"),
                store=self.store,
                reader=self.reader,
                encoder=self.encoder,
            )
        except EmptyIndex:
            self._keep(question, answered=False)
            self.say(f"The collection {self.path} is empty: add articles with /add FILE|URL.")
            return
        except IndexUnavailable as error:  # QABOT_INDEX's shards: none reachable, or not this collection's
            self._keep(question, answered=False)
            self.say(f"The collection cannot be searched now: {error}")
            return
        except UnresolvedFollowup as unresolved:  # "Who do you mean by “he”?"
            self._keep(question, answered=False)
            self.say(str(unresolved))
            return
        self._keep(question, answered=not result.no_answer, reader=result.reader)
        said = note(result)
        self.say(f"({said})\n{result_as_text(result)}" if said else result_as_text(result))
        self.conversation.remember("console", result)

    def _keep(self, question: str, **fields) -> None:
        """Keep an asked question as the bot does (in no chat, by no Telegram user), for /stats."""
        try:
            self.store.record_question(question, **fields)
        except sqlite3.OperationalError as error:  # a full disk, a locked or read-only database
            log.warning("could not keep the question: %s", error)

    def paste(self, read: ReadLine) -> str | None:
        """The text pasted after ``/add``, up to a line holding only "."; None when it is cancelled."""
        self.say(PASTE_HELP)
        pasted = []
        try:
            while line := read(PASTE_PROMPT):
                if line.strip() == END_OF_PASTE:
                    return "".join(pasted)
                if line.strip() == CANCEL_PASTE:
                    break
                pasted.append(line)
        except KeyboardInterrupt:  # Ctrl-C at a terminal: this paste ends, not the console
            pass
        self.say(PASTE_CANCELLED)
        return None

    def add(self, source: str, read: ReadLine) -> None:
        """Add an article from a file or URL, or from text pasted on the following lines."""
        try:
            if source:
                draft = read_source(source, allow_private=self.allow_private_urls)
            else:
                pasted = self.paste(read)
                if pasted is None:
                    return
                draft = from_text(pasted)
            article = store_draft(self.collection(create=True), draft, added_by="console")
        except ArticleRefused as error:
            self.say(f"Not added: {error}.")
            return
        except (sqlite3.DatabaseError, OSError) as error:  # cannot create or write the collection
            self.say(f"Not added: the collection {self.path} cannot be written ({error}).")
            return
        if self.encoder is not None:
            embed_missing(self.store, self.encoder)
        self.say(f"Added article {article.id}: {article.title} ({plural(article.chunks, 'chunk')})")

    def list(self) -> None:
        """List the articles."""
        if self._none_yet():
            return
        articles = self.store.list_articles()
        if not articles:
            self.say(f"The collection {self.path} is empty. Add articles with /add FILE|URL.")
        else:
            self.say(articles_table(articles))

    def remove(self, argument: str) -> None:
        """Remove the article with the given id."""
        if not argument.isdigit():
            self.say("Usage: /remove ID (the ids are in /list).")
            return
        if self._none_yet():
            return
        try:
            info = self.store.remove_article(int(argument))
        except ArticleNotFound:
            self.say(f"There is no article {argument}.")
            return
        self.say(f"Removed article {info.id}: {info.title}")


def _terminal_reader(out: TextIO) -> ReadLine:
    """Lines typed at a terminal, with a prompt, line editing and history."""
    try:
        import readline  # noqa: F401 (gives input() line editing and history)
    except ImportError:
        pass

    def read(prompt: str) -> str:
        try:
            return input(prompt) + "\n"
        except EOFError:
            print("", file=out)
            return ""
        except KeyboardInterrupt:  # what is said next starts on a line of its own, not after "^C"
            print("", file=out)
            raise

    return read


def chat(
    store: Store | Path,
    reader,
    *,
    lines: TextIO | None = None,
    out: TextIO | None = None,
    allow_private_urls: bool = False,
    encoder=None,
    engine: str | None = None,
) -> None:
    """Chat with the collection on stdin/stdout (or the given streams) until /quit or end of input.

    :param store: the collection, or the path of one not created yet (the first ``/add`` creates it).
    :param engine: ``QABOT_INDEX``, for the collection the first ``/add`` creates.

    At a terminal there is a prompt with line editing; from a pipe or file, lines are read as they come.
    """
    lines = lines if lines is not None else sys.stdin
    out = out if out is not None else sys.stdout
    at_terminal = lines is sys.stdin and lines.isatty() and out.isatty()
    read = _terminal_reader(out) if at_terminal else (lambda prompt: lines.readline())
    console = Console(store, reader, out=out, allow_private_urls=allow_private_urls, encoder=encoder, engine=engine)
    try:
        console.run(read)
    except KeyboardInterrupt:
        print("", file=out)
    finally:
        console.close()
