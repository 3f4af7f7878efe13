"""Completion webhooks: where one may point (``targets``), how an event is signed
(``signatures``), how it travels (``transport``) and the sender that attempts and records it."""
