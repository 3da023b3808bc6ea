"""The demo data set: its catalogue (``data/*.json``), the events drawn from it, and the loader."""
from app.demo.events import demo_payloads

__all__ = ["demo_payloads"]
