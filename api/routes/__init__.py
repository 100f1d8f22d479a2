"""The routers, one per resource: thin adapters from HTTP to `api.usecases` and the store."""
