"""Reading a catalog CSV file into validated products and variants, with row-by-row errors.

One row per variant; the rows of one product share its ``product_slug``. Columns (header row
required, names case-insensitive, in any order; comma or semicolon separated; UTF-8, with or
without a BOM):

==================== ======== ===============================================================
column               required meaning
==================== ======== ===============================================================
product_slug         yes      the product's key: ``robe-lin-ete`` (a-z, 0-9, hyphens)
product_name         yes      its name
description                   its description
brand                         its brand
category_slug                 slug of an existing category
price_cents          yes      its price in minor units: ``4990`` for 49,90 €
currency                      ISO 4217 code, ``EUR`` when blank
channels                      where it is listed, ``|``-separated: ``web|app|store|marketplace``
status                        ``draft``, ``published`` or ``archived``; when blank, new products
                              are drafts and existing ones keep theirs
image_urls                    ``|``-separated http(s) URLs or paths starting with ``/``
sku                  yes      the variant's key: ``ROBE-LIN-M-BLEU``
gtin                          its GTIN-13 (EAN), or GTIN-8/12/14; the check digit is verified
size                          its size: ``M``, ``38`` (stored as the attribute ``taille``)
colour                        its colour: ``bleu`` (stored as the attribute ``couleur``)
variant_price_cents           its own price when it differs from the product's
==================== ======== ===============================================================

Product columns are read from the first row of each product; later rows of the same product may
leave them blank or repeat them, but not contradict them. A blank cell means "no value" (no
description, no category…), except ``status`` and ``currency`` as said above. Columns left out of
the header are not touched on existing products. Variants of an existing product that the file
does not list are kept. The import is all-or-nothing: one bad row and nothing is written; the
report lists every bad row with its line, column and the reason. See docs/catalog-import.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import ValidationError

from parcours.catalog.models import ProductStatus
from parcours.catalog.schemas import (
    ImportRowError,
    ProductCreate,
    VariantCreate,
    is_slug,
)

REQUIRED_COLUMNS = ("product_slug", "product_name", "price_cents", "sku")
PRODUCT_COLUMNS = (
    "product_name",
    "description",
    "brand",
    "category_slug",
    "price_cents",
    "currency",
    "channels",
    "status",
    "image_urls",
)
VARIANT_COLUMNS = ("sku", "gtin", "size", "colour", "variant_price_cents")
#: Columns that fill a variant attribute, and the attribute's key in the catalog (the demo data
#: and the pages use the French keys).
ATTRIBUTE_COLUMNS = {"size": "taille", "colour": "couleur"}
_ATTRIBUTE_KEY_COLUMN = {key: column for column, key in ATTRIBUTE_COLUMNS.items()}
COLUMNS = ("product_slug", *PRODUCT_COLUMNS, *VARIANT_COLUMNS)
LIST_SEPARATOR = "|"

# Where a schema field comes from in the file, to point errors at the right column.
_PRODUCT_FIELD_COLUMN = {
    "slug": "product_slug",
    "name": "product_name",
    "description": "description",
    "brand": "brand",
    "category_slug": "category_slug",
    "price_amount": "price_cents",
    "currency": "currency",
    "channels": "channels",
    "status": "status",
    "image_urls": "image_urls",
}
_VARIANT_FIELD_COLUMN = {
    "sku": "sku",
    "gtin": "gtin",
    "attributes": "size",
    "price_amount": "variant_price_cents",
}


@dataclass
class VariantRow:
    line: int
    variant: VariantCreate
    #: Attribute keys the file speaks for (taille, couleur): set or cleared on existing variants.
    attribute_keys: frozenset[str]
    gives_gtin: bool
    gives_price: bool


@dataclass
class ProductRows:
    slug: str
    line: int
    product: ProductCreate
    #: Product fields whose column is in the file (the others stay as they are when updating).
    fields: frozenset[str]
    status_given: bool
    variants: list[VariantRow] = field(default_factory=list)


@dataclass
class ParsedFile:
    rows_read: int
    products: list[ProductRows]
    errors: list[ImportRowError]
    #: (line, slug) of every category the file names, valid rows or not, checked all at once.
    category_refs: list[tuple[int, str]] = field(default_factory=list)


class CsvUnreadable(ValueError):
    """The file cannot be read as CSV at all (not UTF-8, no header)."""


def read_text(source: str | bytes | TextIO) -> str:
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CsvUnreadable("the file is not UTF-8 text: export it as CSV UTF-8") from None
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    return read_text(source.read())


def _dialect_delimiter(header_line: str) -> str:
    """French spreadsheets export with semicolons: follow the header."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


def _errors_of(
    exc: ValidationError, line: int, columns: dict[str, str], default: str
) -> Iterator[ImportRowError]:
    for err in exc.errors():
        loc = err.get("loc", ())
        column = columns.get(str(loc[0]), default) if loc else None
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") in ("missing", "string_too_short"):
            message = "required"
        if column == "size" and len(loc) > 1:
            column = _ATTRIBUTE_KEY_COLUMN.get(str(loc[1]), column)
        yield ImportRowError(line=line, column=column, message=message)


def parse_catalog_csv(source: str | bytes | TextIO) -> ParsedFile:
    """Read and validate every row; nothing touches the database here."""
    content = read_text(source)
    first_line = content.split("\n", 1)[0]
    if not first_line.strip():
        raise CsvUnreadable("the file is empty: it needs a header row, then one row per variant")
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_dialect_delimiter(first_line))
    header = [name.strip().lower() for name in next(reader)]
    errors = _header_errors(header)
    if errors:
        return ParsedFile(rows_read=0, products=[], errors=errors)

    file = _FileReader(frozenset(header))
    line = 1
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines, common at the end of spreadsheet exports
            file.rows_read += 1
            if len(values) != len(header):
                message = f"{len(values)} cells where the header has {len(header)}"
                file.errors.append(ImportRowError(line=line, column=None, message=message))
                continue
            file.read_row(
                {name: value.strip() for name, value in zip(header, values, strict=True)}, line
            )
    except csv.Error as exc:
        file.errors.append(
            ImportRowError(line=line + 1, column=None, message=f"unreadable CSV: {exc}")
        )
    return ParsedFile(
        rows_read=file.rows_read,
        products=list(file.products.values()),
        errors=file.errors,
        category_refs=file.category_refs,
    )


def _header_errors(header: list[str]) -> list[ImportRowError]:
    errors = [
        ImportRowError(line=1, column=name, message="unknown column")
        for name in header
        if name not in COLUMNS
    ]
    errors.extend(
        ImportRowError(line=1, column=name, message="column given twice")
        for name in sorted({n for n in header if header.count(n) > 1})
    )
    errors.extend(
        ImportRowError(line=1, column=name, message="required column missing")
        for name in REQUIRED_COLUMNS
        if name not in header
    )
    return errors


class _FileReader:
    """What reading the rows one by one remembers: products seen, SKUs and GTINs already used."""

    def __init__(self, present: frozenset[str]) -> None:
        self.present = present
        self.rows_read = 0
        self.products: dict[str, ProductRows] = {}
        self.errors: list[ImportRowError] = []
        self.category_refs: list[tuple[int, str]] = []
        self._first_rows: dict[str, tuple[int, dict[str, str]]] = {}
        self._sku_lines: dict[str, int] = {}
        self._gtin_lines: dict[str, int] = {}

    def _error(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(ImportRowError(line=line, column=column, message=message))

    def read_row(self, row: dict[str, str], line: int) -> None:
        slug = row["product_slug"]
        if not slug:
            self._error(line, "product_slug", "required")
            return
        if not is_slug(slug):
            self._error(
                line,
                "product_slug",
                "a slug has lower-case letters, digits and single hyphens: robe-lin-ete",
            )
            return
        first = self._first_rows.get(slug)
        if first is None:
            self._first_rows[slug] = (line, row)
            product = self._read_product(row, line)
            if product is not None:
                self.products[slug] = product
        else:
            first_line, first_row = first
            for name in PRODUCT_COLUMNS:
                if name in self.present and row[name] and row[name] != first_row[name]:
                    self._error(
                        line, name, f"differs from line {first_line}, the first row of {slug}"
                    )
        variant = self._read_variant(row, line)
        if variant is not None and self._codes_are_new(variant) and slug in self.products:
            self.products[slug].variants.append(variant)

    def _codes_are_new(self, row: VariantRow) -> bool:
        sku, gtin = row.variant.sku, row.variant.gtin
        if sku in self._sku_lines:
            self._error(row.line, "sku", f"SKU already on line {self._sku_lines[sku]}")
            return False
        self._sku_lines[sku] = row.line
        if gtin is not None:
            if gtin in self._gtin_lines:
                self._error(row.line, "gtin", f"GTIN already on line {self._gtin_lines[gtin]}")
                return False
            self._gtin_lines[gtin] = row.line
        return True

    def _read_product(self, row: dict[str, str], line: int) -> ProductRows | None:
        present = self.present
        values: dict[str, Any] = {"slug": row["product_slug"], "name": row["product_name"]}
        if row["price_cents"]:
            values["price_amount"] = row["price_cents"]
        fields = {"slug", "name", "price_amount"}
        for name in ("description", "brand"):
            if name in present:
                values[name] = row[name]
                fields.add(name)
        if "category_slug" in present:
            values["category_slug"] = row["category_slug"] or None
            fields.add("category_slug")
            if row["category_slug"]:
                self.category_refs.append((line, row["category_slug"]))
        if "currency" in present:
            values["currency"] = row["currency"].upper() or "EUR"
            fields.add("currency")
        if "channels" in present:
            values["channels"] = [c.lower() for c in _split_list(row["channels"])]
            fields.add("channels")
        if "image_urls" in present:
            values["image_urls"] = _split_list(row["image_urls"])
            fields.add("image_urls")
        status_given = bool(row.get("status"))
        if status_given:
            values["status"] = row["status"].lower()
            fields.add("status")
        try:
            product = ProductCreate.model_validate(values)
        except ValidationError as exc:
            self.errors.extend(_errors_of(exc, line, _PRODUCT_FIELD_COLUMN, "product_name"))
            return None
        if (
            product.status is ProductStatus.PUBLISHED
            and "channels" in fields
            and not product.channels
        ):
            self._error(line, "channels", "a published product needs a channel")
            return None
        return ProductRows(
            slug=row["product_slug"],
            line=line,
            product=product,
            fields=frozenset(fields),
            status_given=status_given,
        )

    def _read_variant(self, row: dict[str, str], line: int) -> VariantRow | None:
        if not row["sku"]:
            self._error(line, "sku", "required")
            return None
        values: dict[str, Any] = {"sku": row["sku"]}
        if row.get("gtin"):
            values["gtin"] = row["gtin"]
        columns = [c for c in ATTRIBUTE_COLUMNS if c in self.present]
        attribute_keys = frozenset(ATTRIBUTE_COLUMNS[c] for c in columns)
        values["attributes"] = {ATTRIBUTE_COLUMNS[c]: row[c] for c in columns if row[c]}
        if row.get("variant_price_cents"):
            values["price_amount"] = row["variant_price_cents"]
        try:
            variant = VariantCreate.model_validate(values)
        except ValidationError as exc:
            self.errors.extend(_errors_of(exc, line, _VARIANT_FIELD_COLUMN, "sku"))
            return None
        return VariantRow(
            line=line,
            variant=variant,
            attribute_keys=attribute_keys,
            gives_gtin="gtin" in self.present,
            gives_price="variant_price_cents" in self.present,
        )
