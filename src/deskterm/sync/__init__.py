"""One connector per channel, and the sync daemon."""
