"""Server-rendered pages (Jinja templates, plain HTML forms, no JavaScript required).

The pages call the same services as the JSON API (app/services) and never touch the engine.
See docs/ui.md.
"""
