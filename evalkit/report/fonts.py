"""The CJK-capable font every report uses, cut down to the characters a document needs.

Chinese prompts, answers and model names must render as characters, not boxes, in the
charts, the PDF and the HTML, on a machine with no system fonts. The font comes from a
pip package (`justmytype-intl-cjk`: Noto Sans SC, SIL Open Font License, TrueType
outlines). It is a variable font whose default instance is Thin, and 17 MB, so each
document gets a subset holding only its own characters, fixed at the weight it needs:
small enough to embed in a PDF or inline in an HTML file, and quick to make (about a
second).
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

from evalkit.errors import UsageError

FONT_PACKAGE = "justmytype_intl_cjk"
FONT_FILE = "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
FONT_FAMILY = "Noto Sans SC"
FONT_LICENSE = "SIL Open Font License 1.1"

# Always kept, so labels made later (numbers, punctuation, units) never miss a glyph; the
# no-break space is what the PDF keeps a number and its unit or interval together with.
_BASE_TEXT = (
    "".join(chr(c) for c in range(0x20, 0x7F))
    + "–—−±×÷·•…→←≥≤≈‘’“”°%$€£¥§¶©®™µ✓✗▲▼■□●○◆◇★☆"
    + "，。：；！？（）、《》「」\u00a0"
)


def font_path() -> Path:
    """The installed variable font file; a clear error naming the package when missing."""
    spec = importlib_util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(
            f"the report font package is not installed: pip install justmytype-intl-cjk "
            f"(it provides {FONT_FAMILY}, so Chinese text renders)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / FONT_FILE
    if not path.is_file():
        raise UsageError(f"{path} is missing: reinstall justmytype-intl-cjk")
    return path


@dataclass(frozen=True)
class FontSubset:
    """One weight of the font, holding just the characters asked for."""

    data: bytes
    """A static TrueType font (no variation tables)."""
    weight: int
    digest: str
    """Short hash of the characters: a unique family and file name per subset."""

    @property
    def family(self) -> str:
        """The family name written into the font, unique per subset and weight, so a
        process that made several subsets (matplotlib keeps every font it was given)
        never picks one that lacks a character."""
        return f"evalkit CJK {self.weight} {self.digest}"

    def write(self, directory: Path) -> Path:
        path = Path(directory) / f"evalkit-cjk-{self.weight}-{self.digest}.ttf"
        if not path.exists():
            path.write_bytes(self.data)
        return path


def subset_fonts(text: str, weights: tuple[int, ...] = (400, 700)) -> dict[int, FontSubset]:
    """Subsets of the font covering ``text`` (plus ASCII and common symbols), per weight."""
    chars = "".join(sorted(set(text) | set(_BASE_TEXT)))
    return {w: s for w, s in zip(weights, _subsets(chars, tuple(weights)))}


@functools.lru_cache(maxsize=8)
def _subsets(chars: str, weights: tuple[int, ...]) -> tuple[FontSubset, ...]:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = TTFont(str(font_path()), lazy=True)
    options = subset.Options()
    options.layout_features = []  # reports need no ligatures or vertical forms
    options.hinting = False
    options.notdef_outline = True
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "STAT"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    out = []
    digest = hashlib.sha256(chars.encode()).hexdigest()[:10]
    for weight in weights:
        static = instancer.instantiateVariableFont(font, {"wght": weight}, inplace=False)
        _rename(static, f"evalkit CJK {weight} {digest}")
        buffer = io.BytesIO()
        static.save(buffer)
        out.append(FontSubset(buffer.getvalue(), weight, digest))
    return tuple(out)


def _rename(font, family: str) -> None:
    """Give the subset its own family name (name IDs 1, 4, 6, 16)."""
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (16, 17, 21, 22, 25):
            names.removeNames(nameID=record.nameID)
    postscript = family.replace(" ", "-")
    for name_id, value in ((1, family), (2, "Regular"), (4, family), (6, postscript)):
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)
