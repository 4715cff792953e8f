"""Sandboxed Jinja2 templates that turn rules into Query DSL and other targets."""

from sessionwatch.renderer.render import TARGETS, Window, render, render_query

__all__ = ["TARGETS", "Window", "render", "render_query"]
