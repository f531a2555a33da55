"""Rasa input channels of the assistant: socket.io for the website widget, REST for scripts.

Both check every message before Rasa sees it (`limits`): a string, no lone surrogates or control
characters, cut to `MAX_MESSAGE_CHARS` with a marker. socket.io sessions carry a server-signed
id (`sessions`) that the REST channel refuses.
"""
