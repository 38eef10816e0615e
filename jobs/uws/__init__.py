"""A UWS 1.0/1.1 client and parser that know nothing of Django.

`model` holds the plain data, `parse` turns bytes into it, `client` talks HTTP.
"""
