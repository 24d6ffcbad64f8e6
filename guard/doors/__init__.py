"""Doors: where a change comes from and where its verdict goes (interface.py, registry.py).

local.py (any git range), github/ (Actions job, deployment protection App), gitlab/ (CI job),
prereceive/ (the server hook). Doors import the engine; the engine never imports a door.
"""
