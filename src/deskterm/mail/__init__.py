"""E-mail: reading archives, parsing behind limits, recognising channels, threading into tickets."""
