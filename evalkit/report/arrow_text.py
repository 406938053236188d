"""Text made a column at a time: pyarrow.compute string kernels over Arrow string arrays.

A large run's disagreements are a million answers; building each one's HTML or Markdown
with a Python f-string costs seconds. These helpers do the same work per column in
Arrow's C++ kernels: escaping (`replace_substring`), joining the pieces of each row
(`binary_join_element_wise`), concatenating each item's rows (`binary_join` over list
offsets), and hand back the result as the UTF-8 bytes of its data buffer, ready to write.
Every array they return is ``large_string`` (64-bit offsets: a chunk's text may pass 2 GB
when long answers are escaped) and has no nulls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_HTML_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))
"""What `html.escape` replaces (quote=True), in its order: the ampersand first."""


def as_text(values: Any) -> Any:
    """``values`` (an Arrow array, chunked array or pandas column) as one ``large_string``
    array, a missing value as "" (what the report prints for one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.type != pa.large_string():
        values = values.cast(pa.large_string())
    return pc.fill_null(values, pa.scalar("", pa.large_string())) if values.null_count else values


def column_text(table: Any, name: str, transform: Callable[[Any], Any] | None = None) -> Any:
    """A table's string column (or a slice of one) as one plain ``large_string`` array, with
    ``transform`` (a column-wise function) applied: to a dictionary-encoded chunk's distinct
    values only, then spread over its rows."""
    import pyarrow as pa

    def shown(values: Any) -> Any:
        return values if transform is None else transform(values)

    chunks = [shown(chunk.dictionary).take(chunk.indices) if pa.types.is_dictionary(chunk.type) else shown(chunk)
              for chunk in table.column(name).chunks]
    return pa.concat_arrays(chunks) if chunks else shown(pa.array([], pa.large_string()))


def join(*parts: Any) -> Any:
    """Each row's parts one after the other; a `str` part is the same in every row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces = [pa.scalar(part, pa.large_string()) if isinstance(part, str) else part for part in parts]
    return pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()))


def either(mask: Any, yes: str, no: str) -> Any:
    """``yes`` where ``mask`` is true, ``no`` where it is false."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(mask, pa.scalar(yes, pa.large_string()), pa.scalar(no, pa.large_string()))


def replaced(values: Any, pairs: tuple[tuple[str, str], ...]) -> Any:
    """``values`` with each ``(old, new)`` of ``pairs`` replaced in turn, as `str.replace` would."""
    import pyarrow.compute as pc

    for old, new in pairs:
        values = pc.replace_substring(values, pattern=old, replacement=new)
    return values


def html_escaped(values: Any) -> Any:
    """`html.escape` of every value."""
    return replaced(values, _HTML_ESCAPES)


def joined_lists(values: Any, offsets: Any, separator: str = "") -> Any:
    """One string per group: the ``values`` from ``offsets[i]`` to ``offsets[i + 1]`` joined
    with ``separator`` (a group with no values is "")."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = pa.LargeListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int64)), values)
    return pc.binary_join(lists, pa.scalar(separator, pa.large_string()))


def mapped(values: Any, render: Callable[[Any], str]) -> Any:
    """``render`` of each value, called once per distinct value (model names, scores and
    extracted answers repeat over thousands of rows)."""
    import pyarrow as pa

    encoded = values.dictionary_encode()
    texts = pa.array([render(value) for value in encoded.dictionary.to_pylist()], pa.large_string())
    return texts.take(encoded.indices)


def utf8_bytes(values: Any) -> memoryview:
    """The values of a string array one after the other, as UTF-8: the slice of its data
    buffer they occupy (no copy)."""
    import numpy as np
    import pyarrow as pa

    assert values.null_count == 0, "a null's bytes are not its text"
    if len(values) == 0:
        return memoryview(b"")
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    _, offsets, data = values.buffers()
    ends = np.frombuffer(offsets, dtype=width)[values.offset:values.offset + len(values) + 1]
    return memoryview(data)[int(ends[0]):int(ends[-1])]


def characters(values: Any, rows: int = 50_000) -> set[str]:
    """Every character in a string array: the ASCII ones read off its UTF-8 bytes with
    numpy, the rest decoded from the non-ASCII values only, ``rows`` values at a time."""
    import numpy as np
    import pyarrow.compute as pc

    values = as_text(values)
    seen = np.zeros(0x110000, dtype=bool)
    for start in range(0, len(values), rows):
        part = values.slice(start, rows)
        ascii_rows = pc.string_is_ascii(part)
        seen[np.frombuffer(utf8_bytes(part.filter(ascii_rows)), dtype=np.uint8)] = True
        wide = part.filter(pc.invert(ascii_rows))
        if len(wide):
            text = bytes(utf8_bytes(wide)).decode("utf-8")
            seen[np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)] = True
    return {chr(code) for code in np.flatnonzero(seen)}
