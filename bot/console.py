"""The console: the bot's chat in a terminal, over the same collection, without Telegram.

Each line read is a question, answered with ``answer()`` and printed as plain text (as ``qabot ask``
prints it), or a command: ``/add``, ``/list``, ``/remove``, ``/stats``, ``/help``, ``/quit``. Lines
come from any text stream, so a script can drive it (``qabot console < script.txt``).
"""

import sys
from collections.abc import Callable
from typing import TextIO

from bot.formatting import article_line, result_as_text, stats_as_text
from index.bm25 import EmptyIndex
from index.ingest import from_text, read_source, store_draft
from index.store import ArticleNotFound, ArticleRefused, Store
from retrieval.answer import answer
from retrieval.embeddings import embed_missing

HELP = """Type a question and press Enter. Commands:
  /add FILE|URL   add an article from a .txt/.md/.html file or a web page
  /add            add pasted text: the first line is the title; end with a line holding only "."
  /list           list the articles
  /remove ID      remove an article
  /stats          articles, chunks and questions asked
  /help           this help
  /quit           leave (or Ctrl-D)"""
END_OF_PASTE = "."


#: Reads the next line, with its line break; "" at the end of the input.
ReadLine = Callable[[], str]


class Console:
    """A chat session over a collection: feed it lines with ``handle``, or ``run`` it on a stream.

    :param store: the collection.
    :param reader: the reader ``answer()`` uses.
    :param out: where replies are written.
    :param allow_private_urls: let ``/add`` fetch loopback and private addresses.
    :param encoder: the sentence encoder for hybrid search and the embeddings of added articles,
        or None for BM25 alone.
    """

    def __init__(
        self, store: Store, reader, *, out: TextIO, allow_private_urls: bool = False, encoder=None
    ):
        self.store = store
        self.reader = reader
        self.encoder = encoder
        self.out = out
        self.allow_private_urls = allow_private_urls

    def say(self, text: str) -> None:
        """Write one reply."""
        print(text, file=self.out, flush=True)

    def run(self, read: ReadLine) -> None:
        """Read and handle lines until ``/quit`` or the end of the input."""
        counts = self.store.counts()
        self.say(f"qabot console: {counts['articles']} articles. Ask a question, or /help.")
        while line := read():
            if not self.handle(line.strip(), read):
                return

    def handle(self, line: str, read: ReadLine) -> bool:
        """Handle one line (``read`` supplies the text pasted after ``/add``); False to leave."""
        if not line:
            return True
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
            self.say(stats_as_text(self.store.stats()))
        else:
            self.say(f"Unknown command {command}. Type /help for the commands.")
        return True

    def ask(self, question: str) -> None:
        """Answer a question: the answer, its sentence and source, as ``qabot ask`` prints it."""
        try:
            result = answer(question, store=self.store, reader=self.reader, encoder=self.encoder)
        except EmptyIndex:
            self.say("The collection is empty: add articles with /add FILE|URL.")
            return
        self.say(result_as_text(result))

    def add(self, source: str, read: ReadLine) -> None:
        """Add an article from a file or URL, or from text pasted on the following lines."""
        try:
            if source:
                draft = read_source(source, allow_private=self.allow_private_urls)
            else:
                self.say(f'Paste the article (first line: the title), then a line with only "{END_OF_PASTE}":')
                pasted = []
                for line in iter(read, ""):
                    if line.strip() == END_OF_PASTE:
                        break
                    pasted.append(line)
                draft = from_text("".join(pasted))
            article = store_draft(self.store, draft, added_by="console")
        except ArticleRefused as error:
            self.say(f"Not added: {error}.")
            return
        if self.encoder is not None:
            embed_missing(self.store, self.encoder)
        self.say(f"Added article {article.id}: {article.title} ({article.chunks} chunks)")

    def list(self) -> None:
        """List the articles."""
        articles = self.store.list_articles()
        if not articles:
            self.say("The collection is empty. Add articles with /add FILE|URL.")
        for a in articles:
            self.say(article_line(a))

    def remove(self, argument: str) -> None:
        """Remove the article with the given id."""
        if not argument.isdigit():
            self.say("Usage: /remove ID (the ids are in /list).")
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

    def read() -> str:
        try:
            return input("> ") + "\n"
        except EOFError:
            print("", file=out)
            return ""

    return read


def chat(
    store: Store,
    reader,
    *,
    lines: TextIO | None = None,
    out: TextIO | None = None,
    allow_private_urls: bool = False,
    encoder=None,
) -> None:
    """Chat with the collection on stdin/stdout (or the given streams) until /quit or end of input.

    At a terminal there is a prompt with line editing; from a pipe or file, lines are read as they come.
    """
    lines = lines if lines is not None else sys.stdin
    out = out if out is not None else sys.stdout
    at_terminal = lines is sys.stdin and lines.isatty() and out.isatty()
    read = _terminal_reader(out) if at_terminal else lines.readline
    try:
        Console(store, reader, out=out, allow_private_urls=allow_private_urls, encoder=encoder).run(read)
    except KeyboardInterrupt:
        print("", file=out)
