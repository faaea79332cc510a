"""Publish the Hugging Face Daily Papers as a Jekyll blog and RSS feeds."""

__version__ = "0.1.0"
