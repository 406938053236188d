"""Tables and prose that fit the reader's width without cutting a figure, a name or a run id.

rich shrinks a table wider than the terminal by cutting its cells (``122 …``). A `Grid`
holds a table's content with a rule per column — a figure never wraps (numbers, model
names, run ids), text wraps between words, a list between its items — and chooses its
layout when printed, from the width it is given:

1. one table, every header on one line;
2. one table with wrapped headers;
3. parts of the table side by side in the reading order, each a table of its own that
   repeats the key columns (the model, the run), or with a `group` column one table per
   value of it (per suite, per run);
4. one block per row, ``header: value`` lines, when not even the key and one more column fit.

A value wider than the whole width is printed whole and left to the terminal to wrap.
`console()` gives output that is not a terminal (a pipe, a file, a CI log) a width that
nothing needs to wrap in, unless ``COLUMNS`` is set; `wrap` breaks prose between words and
never inside a name it is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

FIGURE, TEXT, ITEMS = "figure", "text", "items"
PIPE_WIDTH = 100_000
"""Width of output that is not a terminal: wider than any table or line evalkit prints."""
TEXT_LEAST, TEXT_WORD = 20, 30
"""Narrowest a free-text column is made before the table is split instead, and the longest
word it keeps whole (free text only: figures and names are never folded)."""
_GLUE = "\ue000"
"""Stands for a space inside a name while prose is wrapped (a private-use character)."""

Cell = str | tuple
"""A cell: a string, or for an ITEMS column a tuple of strings."""


def console(stderr: bool = False) -> Console:
    """A rich console for the CLI: the terminal's width (``COLUMNS`` overrides it), and for
    output that is not a terminal ``COLUMNS`` or else `PIPE_WIDTH`, so a pipe is never cut."""
    made = Console(stderr=stderr)
    if made.is_terminal or os.environ.get("COLUMNS", "").strip().isdigit():
        return made
    return Console(stderr=stderr, width=PIPE_WIDTH)


def wrap(text: str, width: int, atoms: tuple[str, ...] = (), indent: str = "") -> list[str]:
    """``text`` as lines of at most ``width`` cells, broken at spaces only: never inside a word
    nor inside one of ``atoms`` (names with spaces in them). A word wider than the line
    stays whole on a line of its own. Continuation lines, and the lines after a newline in
    ``text``, start with ``indent``."""
    for atom in sorted((a for a in atoms if " " in a), key=len, reverse=True):
        text = text.replace(atom, atom.replace(" ", _GLUE))
    lines: list[str] = []
    for n, paragraph in enumerate(text.split("\n")):
        own = paragraph[:len(paragraph) - len(paragraph.lstrip(" "))]
        line, started = (indent if n else "") + own, False
        for word in paragraph[len(own):].split(" "):
            if started and cell_len(f"{line} {word}") > width:
                lines.append(line)
                line = indent + word
            else:
                line = f"{line} {word}" if started else line + word
            started = True
        lines.append(line)
    return [line.replace(_GLUE, " ") for line in lines]


def lines_renderable(lines: list[str]) -> Text:
    """Pre-wrapped lines as one Text that rich neither wraps again nor cuts."""
    return Text("\n".join(lines), no_wrap=True, overflow="ignore")


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False
    """Right-justified (figures that line up)."""
    wrap: str = FIGURE
    """FIGURE: never wraps; TEXT: wraps between words; ITEMS: a tuple of strings, wrapped
    between items, each kept whole."""
    with_previous: bool = False
    """Kept in the same part as the column before it (a trend beside its figure)."""


@dataclass
class Grid:
    """A table's content; laid out for the width it is printed at (see the module docstring)."""

    title: str | None
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    keys: tuple[int, ...] = (0,)
    """Columns repeated in every part of a split table: what a row is about."""
    group: int | None = None
    """A column to make one table per value of, before splitting into parts."""
    show_lines: bool = False
    caption: str | None = None
    """A line printed under the table (a legend), wrapped to the width."""

    def add_row(self, *cells: Cell) -> None:
        self.rows.append(list(cells))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self._body(options.max_width)
        if self.caption:
            yield lines_renderable(wrap(self.caption, options.max_width))

    def _body(self, width: int) -> RenderResult:
        least, full = _widths(self)
        every = list(range(len(self.columns)))
        if self.group is not None and _table_width(every, least) > width:
            yield from self._groups()  # each with its own title
            return
        if self.title:
            yield lines_renderable(wrap(self.title, width))
        parts = [every] if _table_width(every, least) <= width else _parts(self, least, width)
        if parts is None:
            yield lines_renderable(["", *_stacked(self, width), ""])
            return
        for part in parts:
            yield self._table(part, least, full, width)

    def _table(self, indices: list[int], least: list[int], full: list[int], width: int) -> Table:
        widths = _spread(self, indices, least, full, width)
        table = Table(show_lines=self.show_lines)
        for i in indices:
            column = self.columns[i]
            # free text folds a word too long for its column; other columns are wide enough
            table.add_column(Text(column.header), justify="right" if column.right else "left",
                             width=widths.get(i), overflow="fold" if column.wrap == TEXT else "ellipsis")
        for row in self.rows:  # Text, not str: a "[...]" in a name is not rich markup
            table.add_row(*(Text(_cell_text(row[i], self.columns[i], widths.get(i))) for i in indices))
        return table

    def _groups(self) -> list[Grid]:
        """One grid per value of the group column (in first-seen order), without that column."""
        g = self.group
        assert g is not None
        kept = [i for i in range(len(self.columns)) if i != g]
        values = list(dict.fromkeys(row[g] for row in self.rows))
        return [replace(self, title=f"{self.title}: {value}" if self.title else str(value),
                        columns=[self.columns[i] for i in kept],
                        rows=[[row[i] for i in kept] for row in self.rows if row[g] == value],
                        keys=tuple(kept.index(k) for k in self.keys if k != g), group=None, caption=None)
                for value in values]


def _table_width(indices: list[int], widths: list[int]) -> int:
    """Cells plus rich's default box: a line each side and between columns, a space of padding each side."""
    return sum(widths[i] for i in indices) + 3 * len(indices) + 1


def _widths(grid: Grid) -> tuple[list[int], list[int]]:
    """Per column, the least width it may be given and the width it needs for nothing to wrap."""
    least, full = [], []
    for i, column in enumerate(grid.columns):
        cells = [row[i] for row in grid.rows]
        header_full = max(map(cell_len, column.header.split("\n")))
        header_word = max(map(cell_len, column.header.split()), default=0)
        if column.wrap == ITEMS:
            body_full = max((cell_len(", ".join(c)) for c in cells), default=0)
            body_least = max((cell_len(item) + 1 for c in cells for item in c), default=0)
        else:
            body_full = max((cell_len(line) for c in cells for line in _as_text(c).split("\n")), default=0)
            body_least = body_full
            if column.wrap == TEXT:  # a longer word (or a run of CJK) is folded by rich
                longest_word = max((cell_len(w) for c in cells for w in _as_text(c).split()), default=0)
                body_least = min(body_full, max(min(longest_word, TEXT_WORD), TEXT_LEAST))
        least.append(max(body_least, header_word, 1))
        full.append(max(body_full, header_full, 1))
    return least, full


def _parts(grid: Grid, least: list[int], width: int) -> list[list[int]] | None:
    """The columns in as few parts as fit the width, of even widths; None when a part with
    the keys and a single other column is already too wide."""
    keys = list(grid.keys)
    units: list[list[int]] = []
    for i in range(len(grid.columns)):
        if i in keys:
            continue
        if units and grid.columns[i].with_previous:
            units[-1].append(i)
        else:
            units.append([i])
    room = width - _table_width(keys, least)
    costs = [sum(least[i] + 3 for i in unit) for unit in units]
    if not costs or max(costs) > room:
        return None
    count = len(_pack(costs, room))
    low, high = max(costs), room  # the narrowest parts that still need no more of them
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if len(_pack(costs, middle)) <= count else (middle + 1, high)
    return [sorted(keys + [i for u in part for i in units[u]]) for part in _pack(costs, low)]


def _pack(costs: list[int], room: int) -> list[list[int]]:
    """Consecutive units, greedily, into parts of at most ``room``."""
    parts: list[list[int]] = [[]]
    used = 0
    for index, cost in enumerate(costs):
        if parts[-1] and used + cost > room:
            parts.append([])
            used = 0
        parts[-1].append(index)
        used += cost
    return parts


def _spread(grid: Grid, indices: list[int], least: list[int], full: list[int], width: int) -> dict[int, int]:
    """Fixed widths for the columns that never wrap: their least, and the room left over
    given to the headers that need least of it to stay on one line. Text columns are left
    to rich, which wraps them in what remains."""
    fixed = {i: least[i] for i in indices if grid.columns[i].wrap != TEXT}
    spare = width - _table_width(indices, least)
    for i in sorted(fixed, key=lambda i: full[i] - least[i]):
        if full[i] - least[i] > spare:
            break
        spare -= full[i] - least[i]
        fixed[i] = full[i]
    for i in fixed:  # a list takes what is left: more items on a line
        if grid.columns[i].wrap == ITEMS and fixed[i] < full[i]:
            grow = min(full[i] - fixed[i], spare)
            fixed[i] += grow
            spare -= grow
    return fixed


def _as_text(cell: Cell) -> str:
    """A cell outside an ITEMS column is a string; a stray tuple reads as its items."""
    return cell if isinstance(cell, str) else ", ".join(cell)


def _cell_text(cell: Cell, column: Column, width: int | None) -> str:
    if column.wrap != ITEMS:
        return _as_text(cell)
    if width is None or cell_len(", ".join(cell)) <= width:
        return ", ".join(cell)
    lines = [""]
    for n, item in enumerate(cell):
        piece = item + ("," if n < len(cell) - 1 else "")
        if lines[-1] and cell_len(f"{lines[-1]} {piece}") > width:
            lines.append(piece)
        else:
            lines[-1] = f"{lines[-1]} {piece}" if lines[-1] else piece
    return "\n".join(lines)


def _stacked(grid: Grid, width: int) -> list[str]:
    """One block per row: the key cells on a line, then ``header: value`` for the others (blank ones left out)."""
    lines: list[str] = []
    for row in grid.rows:
        keys = [_plain(row[k]) for k in grid.keys]
        lines += wrap(" · ".join(keys), width, atoms=tuple(keys))
        for i, column in enumerate(grid.columns):
            value = _plain(row[i])
            if i in grid.keys or not value:
                continue
            atoms = tuple(row[i]) if column.wrap == ITEMS else (value,) if column.wrap == FIGURE else ()
            header = " ".join(column.header.split())
            lines += wrap(f"  {header}: {value}", width, atoms=atoms, indent="    ")
        lines.append("")
    return lines[:-1]


def _plain(cell: Cell) -> str:
    return ", ".join(cell) if isinstance(cell, tuple) else cell


def print_lines(console: Console, lines: list[str], atoms: tuple[str, ...] = ()) -> None:
    """Prose lines wrapped at the console's width by `wrap` (continuations indented), never cut."""
    for line in lines:
        console.print(lines_renderable(wrap(line, console.width, atoms, indent="  ")), crop=False)


def show(console: Console, item: Grid | str) -> None:
    """Print a grid, or a one-line message in its place (e.g. "No runs ... yet")."""
    if isinstance(item, str):
        print_lines(console, [item])
    else:
        console.print(item, crop=False)
