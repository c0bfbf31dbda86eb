"""The Whoosh full-text index: a cache rebuilt from the store."""
