"""Placeholder router (filled by the agent work)."""

from fastapi import APIRouter

router = APIRouter()
