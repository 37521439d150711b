"""Product search that a French shopper expects, on SQLite FTS5 or PostgreSQL full-text.

Text is normalised in Python on both sides, the stored document and the query: folded (lower
case, accents and ligatures removed), cut into words, French stop words dropped, each word
stemmed with the Snowball French stemmer. So "Pantalons noirs" is stored as ``pantalon noir`` and
the query "pantalon noir" finds it; "ROBE ÉTÉ" finds "robe d'été". Both engines then index the
same words: an FTS5 table (``product_search_fts``) kept in step by triggers on SQLite, a GIN index
on ``to_tsvector('simple', document)`` on PostgreSQL. The DDL is attached to the table's creation,
so ``create_all`` and the migration build the same thing.

Ranking: the name is written three times in the document, so a product whose name matches
outranks one that only mentions the words in its description (bm25 on FTS5, ts_rank on
PostgreSQL). The last word of a query matches as a prefix, so search-as-you-type works.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import snowballstemmer
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    column,
    event,
    func,
    literal_column,
    select,
    table,
    text,
)

from parcours.catalog.models import Product, ProductSearchDocument

#: How many times the name counts against one mention elsewhere.
NAME_WEIGHT = 3
BRAND_WEIGHT = 2
MAX_QUERY_TERMS = 12
_MAX_WORD_LENGTH = 40

# Words that carry no meaning in a product search (after folding). Elided articles (l', d')
# come out of the tokenizer as one letter.
STOP_WORDS = frozenset(
    {
        *("a", "au", "aux", "avec", "c", "d", "de", "des", "du", "en", "et", "j", "l", "la"),
        *("le", "les", "m", "n", "ou", "par", "pour", "qu", "s", "sans", "sur", "t", "un", "une"),
    }
)
_WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"}
)
_local = threading.local()


def fold(value: str) -> str:
    """Lower case, without accents or ligatures: ``"Été Œuvre"`` -> ``"ete oeuvre"``."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The French stem of one folded word (Snowball stemmers keep state: one per thread)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("french")
    result: str = stemmer.stemWord(word)
    return result


def _words(value: str) -> list[str]:
    return [w[:_MAX_WORD_LENGTH] for w in _WORD.findall(fold(value)) if w not in STOP_WORDS]


def normalise(value: str) -> list[str]:
    """The search terms of a text: folded, tokenized, stop words dropped, stemmed."""
    return [stem(w) for w in _words(value)]


def build_document(
    *,
    name: str,
    brand: str = "",
    category_name: str = "",
    attributes: Iterable[str] = (),
    description: str = "",
) -> str:
    """The stored, already-normalised text a product is found by."""
    parts = [
        *([" ".join(normalise(name))] * NAME_WEIGHT),
        *([" ".join(normalise(brand))] * BRAND_WEIGHT),
        " ".join(normalise(category_name)),
        " ".join(term for value in attributes for term in normalise(value)),
        " ".join(normalise(description)),
    ]
    return " ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A shopper's query, normalised: whole terms, then the last one matched as a prefix either
    stemmed or as typed (a half-typed word's stem is not always a prefix of the full word's)."""

    terms: tuple[str, ...]
    last_stem: str
    last_typed: str

    @classmethod
    def parse(cls, raw: str) -> SearchQuery | None:
        words = _words(raw)[:MAX_QUERY_TERMS]
        if not words:
            return None
        *rest, last = words
        return cls(terms=tuple(stem(w) for w in rest), last_stem=stem(last), last_typed=last)

    def _last_alternatives(self) -> list[str]:
        return list(dict.fromkeys((self.last_stem, self.last_typed)))

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every term quoted, so nothing typed is read as syntax."""

        def quoted(term: str) -> str:
            return '"' + term.replace('"', '""') + '"'

        alternatives = [f"{quoted(t)}*" for t in self._last_alternatives()]
        last = alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"
        # Explicit AND: FTS5 does not join a phrase and a bracketed group implicitly.
        return " AND ".join([*(quoted(t) for t in self.terms), last])

    def tsquery(self) -> str:
        """A ``to_tsquery`` expression. Terms are letters and digits only (the tokenizer keeps
        nothing else), so no operator a shopper types reaches the parser."""
        alternatives = [f"{t}:*" for t in self._last_alternatives()]
        last = alternatives[0] if len(alternatives) == 1 else f"({' | '.join(alternatives)})"
        return " & ".join([*self.terms, last])


_fts = table("product_search_fts", column("product_id"), column("document"))
_SIMPLE: ColumnElement[Any] = literal_column(
    "'simple'::regconfig"
)  # a literal, so the GIN index's expression matches


def ranked_matches(query: SearchQuery, dialect: str) -> Select[Any]:
    """``SELECT products … ORDER BY relevance``; the caller adds filters and limits."""
    if dialect == "sqlite":
        rank = text("bm25(product_search_fts)")  # lower is better
        return (
            select(Product)
            .join(_fts, _fts.c.product_id == Product.id)
            .where(text("product_search_fts MATCH :match").bindparams(match=query.fts5()))
            .order_by(rank, Product.id)
        )
    vector = func.to_tsvector(_SIMPLE, ProductSearchDocument.document)
    ts_query = func.to_tsquery(_SIMPLE, query.tsquery())
    return (
        select(Product)
        .join(ProductSearchDocument, ProductSearchDocument.product_id == Product.id)
        .where(vector.op("@@")(ts_query))
        .order_by(func.ts_rank(vector, ts_query).desc(), Product.id)
    )


_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS product_search_fts USING fts5("
    "product_id UNINDEXED, document, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS product_search_fts_ai AFTER INSERT ON product_search_documents "
    "BEGIN INSERT INTO product_search_fts(product_id, document) "
    "VALUES (new.product_id, new.document); END",
    "CREATE TRIGGER IF NOT EXISTS product_search_fts_ad AFTER DELETE ON product_search_documents "
    "BEGIN DELETE FROM product_search_fts WHERE product_id = old.product_id; END",
    "CREATE TRIGGER IF NOT EXISTS product_search_fts_au AFTER UPDATE ON product_search_documents "
    "BEGIN UPDATE product_search_fts SET document = new.document "
    "WHERE product_id = old.product_id; END",
)
_POSTGRES_DDL = (
    "CREATE INDEX IF NOT EXISTS ix_product_search_documents_tsv ON product_search_documents "
    "USING gin (to_tsvector('simple', document))",
)


def install_search_index(conn: Connection) -> None:
    """Create the engine's full-text structures (idempotent)."""
    statements = _SQLITE_DDL if conn.dialect.name == "sqlite" else _POSTGRES_DDL
    for statement in statements:
        conn.execute(text(statement))


def drop_search_index(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TABLE IF EXISTS product_search_fts"))
    else:
        conn.execute(text("DROP INDEX IF EXISTS ix_product_search_documents_tsv"))


def clear_search_index(conn: Connection) -> None:
    """Empty the FTS5 table (tests empty every table between tests)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM product_search_fts"))


@event.listens_for(ProductSearchDocument.__table__, "after_create")
def _after_create(_table: object, connection: Connection, **_kw: object) -> None:
    install_search_index(connection)


# ---------------------------------------------------------------------------------------------
# Suggestions and spelling hints for the storefront (search-as-you-type, zero-results page)

#: How close a folded word must be to a catalogue word to be offered as "did you mean".
SPELLING_CUTOFF = 0.75


def folded_words(value: str) -> list[str]:
    """The folded words of a text, stop words dropped but not stemmed: what a shopper reads."""
    return _words(value)


def starts_with_words(name: str, typed: str) -> bool:
    """Whether every typed word begins a word of ``name`` ("pant no" -> "Pantalon noir")."""
    words = _words(name)
    return bool(typed) and all(any(w.startswith(t) for w in words) for t in _words(typed))


def spelling_hint(query: str, vocabulary: Iterable[str]) -> str | None:
    """The query with each unknown word replaced by the closest catalogue word, or None when
    nothing changes: "pantalom noire" -> "pantalon noir" (on folded words)."""
    from difflib import get_close_matches

    known = set(vocabulary)
    if not known:
        return None
    words = _words(query)[:MAX_QUERY_TERMS]
    # Sorted so the answer does not depend on set order when two words are as close.
    candidates = sorted(known)
    fixed = []
    for word in words:
        if word in known or len(word) < 3:
            fixed.append(word)
            continue
        close = get_close_matches(word, candidates, n=1, cutoff=SPELLING_CUTOFF)
        fixed.append(close[0] if close else word)
    if not words or fixed == words:
        return None
    return " ".join(fixed)
