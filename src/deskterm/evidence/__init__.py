"""Claim evidence folders and the seller's documents behind them."""
