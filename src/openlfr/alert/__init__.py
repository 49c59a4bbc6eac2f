"""Alerts of the live pipeline: their JSON form and the sinks that deliver them."""
