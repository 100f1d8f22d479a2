"""Placeholder router (filled by the omni work)."""

from fastapi import APIRouter

router = APIRouter()
