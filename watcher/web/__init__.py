"""Web sources: listing pages with CSS selectors, the address guard for untrusted links."""

from __future__ import annotations
