"""JSON routes of tracking (being written)."""

from fastapi import APIRouter

router = APIRouter()
