"""Text that is safe to print where a CI runner reads the output.

CI runners scan a job's stdout and stderr for *workflow commands*: GitHub Actions
executes any line that starts, after leading whitespace, with ``::`` (and the older
``##[``), Azure Pipelines any ``##vso[`` anywhere in a line and ``##[`` logging
lines. Labels, ids, class names, column and file names come from the user's data,
so every piece of data-derived text that labelprep prints goes through
:func:`safe` first.

The rule of :func:`safe`, applied to the whole text:

1. Every character that can break a line or hide itself is rendered visibly, as
   Python's ``repr`` renders it: every character that is not printable in the
   sense of :meth:`str.isprintable`, that is the control characters (C0, DEL and
   C1, so ``\\n``, ``\\r``, ``\\t``, ``\\x0b``, ``\\x0c``, ``\\x85``...), the line
   and paragraph separators U+2028 and U+2029, the invisible format characters
   (zero-width spaces and joiners, bidirectional overrides, the byte order mark),
   lone surrogates (a file name with an undecodable byte), private-use and
   unassigned code points, and every space other than U+0020 (``\\xa0``...).
   ``"a\\nb"`` becomes the four characters ``a\\nb``. The result is one line.
   Backslashes are kept as they are, so Windows paths stay readable.
2. The line cannot begin a command: when it starts, after leading whitespace, with
   ``:`` followed by ``:``, or with ``##[``, that first character is rendered as
   its escape (``\\x3a`` for ``:``, ``\\x23`` for ``#``).
3. ``##[`` and ``##vso[`` (any case) never appear anywhere in it: the first ``#``
   of such a sequence is rendered as ``\\x23``.

A fragment made safe stays safe inside a line that labelprep starts with its own
text, and on its own. :func:`github_data` and :func:`github_property` apply
GitHub's own escaping to the message and the properties of a command that
labelprep itself prints; :func:`json_safe` makes JSON text safe with the same value.

Examples
--------
>>> safe("cat")
'cat'
>>> safe("x\\n::error::pwn")
'x\\\\n::error::pwn'
>>> safe("  ::add-mask::x")
'  \\\\x3a:add-mask::x'
>>> github_data("50%\\nnext")
'50%25%0Anext'
"""

from __future__ import annotations

import re

__all__ = ["github_command", "github_data", "github_property", "json_safe", "safe"]

_COMMAND_ANYWHERE = re.compile(r"#(?=#(?:vso)?\[)", re.IGNORECASE)
_COMMAND_START = re.compile(r"^(\s*)(:(?=:)|#(?=#\[))")


def _visible(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _code(char: str) -> str:
    return f"\\x{ord(char):02x}"


def safe(text: str) -> str:
    """Render data-derived *text* as one line that no CI runner reads as a command.

    See the module docstring for the exact rule.
    """
    text = _visible(str(text))
    text = _COMMAND_ANYWHERE.sub(lambda m: _code(m.group()), text)
    return _COMMAND_START.sub(lambda m: m.group(1) + _code(m.group(2)), text)


def github_data(text: str) -> str:
    """Escape the message of a GitHub workflow command (``%``, CR and LF).

    Other line-breaking and invisible characters are rendered as :func:`safe` does,
    since some runners split lines on them too; the text never starts a line, so a
    leading ``::`` stays as it is.
    """
    text = str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _COMMAND_ANYWHERE.sub(lambda m: _code(m.group()), _visible(text))


def github_property(text: str) -> str:
    """Escape a property value (``file=``, ``title=``) of a GitHub workflow command."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(command: str, message: str, **properties: str) -> str:
    """One GitHub workflow command line, its message and properties escaped.

    Examples
    --------
    >>> github_command("error", "bad\\nrow", file="a,b.csv", line="3")
    '::error file=a%2Cb.csv,line=3::bad%0Arow'
    """
    props = ",".join(f"{key}={github_property(value)}" for key, value in properties.items())
    return f"::{command}{' ' + props if props else ''}::{github_data(message)}"


def json_safe(text: str) -> str:
    """JSON text with every ``##[`` / ``##vso[`` written ``\\u0023#[`` (the same JSON value).

    :func:`json.dumps` already escapes line breaks and control characters (and, with
    ``ensure_ascii``, every other character a runner could take for a line break), but
    Azure Pipelines reads ``##vso[`` anywhere in a line, inside a JSON string too.

    Examples
    --------
    >>> json_safe('{"a": "##vso[task.setvariable]x"}')
    '{"a": "\\\\u0023#vso[task.setvariable]x"}'
    """
    return _COMMAND_ANYWHERE.sub(lambda m: "\\u0023", text)
