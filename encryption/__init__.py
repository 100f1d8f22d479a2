"""Encryption of what leaves our SQL: the key ring, the payload codec, keyed hashes (pure:
no settings, no SQL, no HTTP; callers pass the ring)."""
