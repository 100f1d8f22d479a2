"""The HTTP contract: request and response models, one module per resource (as the routers).

Models the Omni store also uses stay in `omni/models.py`; `api.models.omni` re-exports them.
"""
