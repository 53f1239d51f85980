"""What a config model's source says about it: the comments of its fields, its docstring."""

from __future__ import annotations

import ast
import inspect
import io
import textwrap
import tokenize

from pydantic import BaseModel


def field_comments(model: type[BaseModel]) -> dict[str, str]:
    """Each field's comment: the comment lines just above it and the one after it,
    from the class that declares the field (a subclass inherits its base's)."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls is not BaseModel:
            found.update(_own_comments(cls))
    return found


def _own_comments(cls: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # made at run time: no source to read
        return {}
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.ClassDef)
    found = {}
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            found[item.target.id] = " ".join(
                _above(item.lineno, lines, comments) + _after(item, comments)
            )
    return {name: text for name, text in found.items() if text}


def _above(lineno: int, lines: list[str], comments: dict[int, str]) -> list[str]:
    """The comment-only lines right above line ``lineno`` (1-based), top first."""
    above: list[str] = []
    row = lineno - 1
    while row in comments and lines[row - 1].lstrip().startswith("#"):
        above.insert(0, comments[row])
        row -= 1
    return above


def _after(item: ast.AnnAssign, comments: dict[int, str]) -> list[str]:
    end = item.end_lineno or item.lineno
    return [comments[row] for row in range(item.lineno, end + 1) if row in comments]


def section_text(model: type[BaseModel]) -> str:
    """The model's docstring as one paragraph."""
    doc = inspect.cleandoc(model.__dict__.get("__doc__") or "")  # its own, not its base's
    return " ".join(doc.split())
