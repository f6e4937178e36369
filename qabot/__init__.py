"""qabot: answers questions from a collection of articles, with the answer, its sentence and its source.

One installed package; its parts live in the repository's top-level folders (``pyproject.toml`` maps
them here), in the order a question takes them, and import one way only, downwards:

* ``qabot.bot`` (``bot/``): the ``qabot`` command, the console and the Telegram bot.
* ``qabot.evaluation`` (``evaluation/``): answer tests, conversation tests, SQuAD, metrics, tuning.
* ``qabot.training`` (``training/``): training the builtin reader.
* ``qabot.retrieval`` (``retrieval/``): a question's path: search, reader, ranked and cited answers.
* ``qabot.models`` (``models/``): the transformer models' code, their files and tuned profiles.
* ``qabot.index`` (``index/``): articles in SQLite, chunks, the BM25 index, Xapian shards, ingestion.
"""
