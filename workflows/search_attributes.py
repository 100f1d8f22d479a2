"""The custom search attributes (Keyword) a conversation sets, for the Temporal UI's filters.

Workflow code sets them and `transbordo` registers them on a server; both import them from here.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

BOT = SearchAttributeKey.for_keyword("Bot")
SERVICE = SearchAttributeKey.for_keyword("Service")
STATUS = SearchAttributeKey.for_keyword("ConversationStatus")
AGENT = SearchAttributeKey.for_keyword("Agent")
CONTACT = SearchAttributeKey.for_keyword("ContactId")
SEARCH_ATTRIBUTES = (BOT, SERVICE, STATUS, AGENT, CONTACT)
