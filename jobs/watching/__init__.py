"""Watching jobs while nobody looks, and telling their owners: models, the worker's tasks, mail, pages."""
