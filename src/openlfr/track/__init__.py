"""Tracks: one person's pass in front of a camera, and the best shots of their face."""
