"""The report's building blocks (headings, paragraphs, tables, lists, banners, figures,
collapsible sections) and their two renderings: GitHub-flavoured markdown and HTML.

Static text is a small markdown subset (**bold**, `code`); data-derived text is passed as
``("user", text)`` and escaped for each format: HTML-escaped in HTML; in markdown, which
GitHub renders with inline HTML allowed (job summaries, PR comments), every markdown and
HTML special character is backslash-escaped and newlines become spaces, and no line of the
document may begin with ``::`` (a workflow command when the text is echoed in a CI log).
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

# Inline: static text in a markdown subset (**bold**, `code`) or ("user", text), escaped.
Inline = str | tuple[str, str]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    parts: tuple[Inline, ...]


@dataclass(frozen=True)
class Banner:
    """A warning shown at the top of the report (a blockquote in markdown)."""

    parts: tuple[Inline, ...]


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    text: bool = False  # left-align every column (default: numbers after the first column)


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Figure:
    """An inline SVG chart with its caption (HTML only)."""

    svg: str
    caption: str


@dataclass(frozen=True)
class Details:
    """Collapsible in HTML (open when ``opened``); in markdown, the blocks as they are."""

    summary: str
    blocks: tuple[Block, ...]
    opened: bool = False


Block = Heading | Para | Banner | Bullets | Table | Code | Figure | Details


def num(value: Any) -> str:
    """A number for a table cell: thousands separated, 4 significant digits for fractions.

    >>> num(1234567), num(0.123456), num(12345.678), num(None), num(2.0)
    ('1,234,567', '0.1235', '12,345.7', '-', '2')
    """
    if isinstance(value, str) or value is None:
        return value or "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return json.dumps(value, default=str)
    if isinstance(value, float) and math.isfinite(value):
        value = round(value, 9) + 0.0  # 4376.000000001, a float sum, is 4,376
    if isinstance(value, float) and not (value.is_integer() and abs(value) < 1e15):
        if 1000 <= abs(value) < math.inf:  # thousands separated like the integers
            return f"{value:,.1f}"
        return f"{value:.4g}"
    return f"{int(value):,}"


def kv_table(header: tuple[str, str], mapping: Any, *, text: bool = False) -> list[Block]:
    """A two-column table of a dict (nothing when it is not a non-empty dict)."""
    pairs = mapping.items() if isinstance(mapping, dict) else ()
    return [Table(header, tuple((str(k), num(v)) for k, v in pairs), text)] if pairs else []


def frame_table(frame: pl.DataFrame, columns: dict[str, str]) -> Table:
    """The ``class`` column, then the present ``columns`` (column -> header), as numbers."""
    present = [c for c in columns if c in frame.columns]
    rows = [(str(r["class"]), *(num(r[c]) for c in present)) for r in frame.iter_rows(named=True)]
    return Table(("class", *(columns[c] for c in present)), tuple(rows))


def names_list(names: list[Any], limit: int = 200) -> str:
    """Names joined by commas, the first ``limit`` of them, then how many more.

    >>> names_list(["a", "b", "c"], limit=2)
    'a, b and 1 more'
    """
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


# --- markdown ----------------------------------------------------------------------------


def md_escape(text: str) -> str:
    """Plain text for any markdown context, table cells included.

    >>> print(md_escape("a|b <i>&\\n#1"))
    a\\|b \\<i\\>\\& \\#1
    """
    text = re.sub(r"[\r\n\u2028\u2029\x0b\x0c\x85]+", " ", text)
    return re.sub(r"([\\`*_\[\]<>|#~&])", r"\\\1", text)


def _md_inline(part: Inline) -> str:
    return part if isinstance(part, str) else md_escape(part[1])


def md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + md_escape(block.text)
    if isinstance(block, Para):
        return "".join(map(_md_inline, block.parts))
    if isinstance(block, Banner):
        return "> " + "".join(map(_md_inline, block.parts))
    if isinstance(block, Bullets):
        return "\n".join("- " + "".join(map(_md_inline, item)) for item in block.items)
    if isinstance(block, Code):
        return f"```python\n{block.text}\n```"
    if isinstance(block, Table):
        rule = "| --- |" + (" --- |" if block.text else " ---: |") * (len(block.header) - 1)
        rows = [block.header, *block.rows]
        lines = ["| " + " | ".join(map(md_escape, cells)) + " |" for cells in rows]
        return "\n".join([lines[0], rule, *lines[1:]])
    if isinstance(block, Details):
        return "\n\n".join(text for b in block.blocks if (text := md_block(b)))
    return ""  # charts are for the HTML page only


def markdown_document(blocks: list[Block]) -> str:
    text = "\n\n".join(out for b in blocks if (out := md_block(b))) + "\n"
    return re.sub(r"(?m)^::", r"\\::", text)  # never a workflow command


# --- HTML --------------------------------------------------------------------------------


def _html_inline(part: Inline) -> str:
    if not isinstance(part, str):
        return html.escape(part[1])
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(part))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _html_table(block: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in block.header)
    cells = ("".join(f"<td>{html.escape(c)}</td>" for c in row) for row in block.rows)
    body = "".join(f"<tr>{row}</tr>" for row in cells)
    table = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f'<div class="t"><table class="{"text" if block.text else "num"}">{table}</table></div>'


def html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p>{''.join(map(_html_inline, block.parts))}</p>"
    if isinstance(block, Banner):
        return f'<div class="banner" role="alert">{"".join(map(_html_inline, block.parts))}</div>'
    if isinstance(block, Bullets):
        items = "".join(f"<li>{''.join(map(_html_inline, item))}</li>" for item in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Code):
        return f"<pre><code>{html.escape(block.text)}</code></pre>"
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Details):
        inner = "\n".join(html_block(b) for b in block.blocks)
        opened = " open" if block.opened else ""
        return (
            f"<details{opened}><summary>{html.escape(block.summary)}</summary>\n{inner}</details>"
        )
    caption = html.escape(block.caption)
    return f"<figure>{block.svg}<figcaption>{caption}</figcaption></figure>"


def html_document(blocks: list[Block]) -> str:
    return _PAGE.format(css=_CSS, body="\n".join(html_block(b) for b in blocks))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>labelprep imbalance report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{css}</style></head>
<body><main>
{body}
</main></body></html>
"""
_CSS = """
body { margin: 0; background: #f3f4f6; color: #1d2430; font: 15px/1.5 system-ui, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h3 { font-size: 16px; margin: 20px 0 6px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e3e6eb; }
.t { overflow-x: auto; } figure { margin: 12px 0 20px; } svg { max-width: 100%; height: auto; }
td:first-child { max-width: 420px; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0 10px; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e3e6eb; text-align: right; }
th:first-child, td:first-child, .text th, .text td { text-align: left; }
.text td { overflow-wrap: break-word; max-width: 360px; }
th { font-weight: 600; white-space: nowrap; } tbody tr:nth-child(even) { background: #fafbfc; }
th, code, pre { background: #f0f2f5; } code { padding: 1px 4px; border-radius: 3px; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
pre { padding: 12px 14px; overflow-x: auto; border-radius: 4px; } pre code { padding: 0; }
figcaption, .note { color: #5b6472; font-size: 13px; }
.banner { margin: 16px 0; padding: 12px 16px; border-left: 6px solid #b42318;
  background: #fef3f2; color: #7a271a; font-weight: 600; }
details { margin: 8px 0 16px; } summary { cursor: pointer; color: #0b5cad; font-weight: 600; }
ul { padding-left: 22px; } li { margin: 2px 0; overflow-wrap: anywhere; }
"""
