"""Notifiers: small classes behind one interface (``Notifier``), one module per integration."""

from __future__ import annotations
