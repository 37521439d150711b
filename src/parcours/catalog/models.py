"""Catalog tables: categories, products, variants, per-channel publication, search documents."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parcours.core.db import Base, JSONDocument, UTCDateTime


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    STORE = "store"
    MARKETPLACE = "marketplace"


class ProductStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # NO ACTION rather than RESTRICT: a parent still cannot go while it has children, but the
    # check waits for the end of the statement, so one DELETE may remove a whole subtree.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("categories.id"), nullable=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str] = mapped_column(String(120), default="")
    category_id: Mapped[str | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    price_amount: Mapped[int] = mapped_column(Integer)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=ProductStatus.DRAFT.value)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)  # material…
    image_urls: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Variant.position"
    )
    channels: Mapped[list[ProductChannel]] = relationship(cascade="all, delete-orphan")
    # Written with the product so the unit of work inserts it after the product row.
    search_document: Mapped[ProductSearchDocument | None] = relationship(
        cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("price_amount >= 0", name="price_not_negative"),)


class ProductChannel(Base):
    """Publication of a product on one channel (web, app, store, marketplace)."""

    __tablename__ = "product_channels"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)


class Variant(Base):
    __tablename__ = "variants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True, nullable=True)
    # taille, couleur…
    attributes: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    price_amount: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: product price
    position: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="variants")

    __table_args__ = (
        CheckConstraint("price_amount IS NULL OR price_amount >= 0", name="price_not_negative"),
    )


class ProductSearchDocument(Base):
    """The text a product is found by, already folded (accents, case) and stemmed in Python, so
    SQLite FTS5 and PostgreSQL full-text index the same words. The engine-specific indexes over
    it are created with the table (FTS5 table on SQLite, GIN tsvector index on PostgreSQL)."""

    __tablename__ = "product_search_documents"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[str] = mapped_column(Text)
