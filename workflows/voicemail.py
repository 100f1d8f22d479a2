"""The voicemail ("Caixa Postal") a customer leaves when nobody can answer: what the service
stores, at the voicemail time's end (`HumanoBlock._close_voicemail`) or when the customer leaves
before it (`HumanoBlock._customer_left`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.omni_queue import VoicemailRequest
    from workflows.contracts import ConversationInput, Handoff

VOICEMAIL_ON_LEAVE = "voicemail-on-leave"
"""Patch id: a customer who leaves during the voicemail time leaves what they said as the
voicemail (histories before it dropped it). Asked only by a run where that happens."""


def voicemail_of(
    handoff: Handoff, started: ConversationInput, voicemail_id: str
) -> VoicemailRequest:
    """The voicemail of what the customer said since the voicemail time began."""
    return VoicemailRequest(
        voicemail_id=voicemail_id,
        service_id=handoff.service.service_id,
        service_name=handoff.service.service_name,
        conversation_id=started.conversation_id,
        bot=started.bot,
        contact_id=started.contact.id,
        text="\n".join(handoff.voicemail_texts),
    )
