"""JSON routes of this context (being written)."""

from fastapi import APIRouter

router = APIRouter()
