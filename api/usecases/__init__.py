"""What the API does for a request, apart from HTTP: the routers in `api/routes/` only adapt.

Each module is one family of use cases: `delivery` (a customer's message to its conversation),
`agent_actions` (an agent's Update on a conversation), `publishing` (a bot's YAML to a version),
`bot_settings` (a settings change written into that YAML), `startup` (the flows folder at boot).

Named "use cases", not "services": in Transbordo a service is an Omni queue of conversations.
"""
