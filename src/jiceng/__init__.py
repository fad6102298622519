"""Jiceng: party-building-led grassroots governance for a Chinese county."""
