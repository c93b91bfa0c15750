"""Daily email digests: render (pure), MIME message, SMTP sender and the digest service."""
