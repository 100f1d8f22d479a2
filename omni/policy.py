"""Pure Omni rules the runtime applies: where a conversation may be transferred."""

from __future__ import annotations

from omni.models import ServicePublic


def transfer_refusal(source: ServicePublic, target: ServicePublic) -> str | None:
    """Why a transfer from ``source`` to ``target`` is not allowed, or None when it is.

    A hidden service ("Desabilitar exibição do serviço") is never a transfer target; a service
    with a ``transfer_group`` ("Agrupar serviços para transferência") transfers only there.
    """
    if source.id == target.id:
        return f"the conversation is already in service {target.name!r}"
    if target.hidden:
        return f"service {target.name!r} is hidden and takes no transfers"
    if source.transfer_group and target.name not in source.transfer_group:
        allowed = ", ".join(source.transfer_group)
        return f"service {source.name!r} transfers only to: {allowed}"
    return None
