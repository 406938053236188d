"""Requantising a GGUF file with the `gguf` package's numpy quantisers (no llama.cpp build).

The embedded model ships as Q4_1; its Q4_0 variant is made here, once per machine. Every
tensor of the source type is dequantised to float32 and quantised again to the target
type with gguf's reference numpy code (the same block formats llama.cpp reads); every
other tensor (the Q8_0 token embedding, the F32 norms) and every metadata field is copied
unchanged, except `general.file_type`, which names the new main type.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["requantize"]

_FILE_TYPES = {"Q4_0": 2, "Q4_1": 3, "Q5_0": 8, "Q5_1": 9, "Q8_0": 7}
"""llama.cpp's `LLAMA_FTYPE_MOSTLY_*` numbers for the types gguf can quantise to."""


def requantize(source: Path, target: Path, *, from_type: str, to_type: str) -> int:
    """Write `source` to `target` with every `from_type` tensor requantised to `to_type`.

    Returns how many tensors were requantised. `target` is written in place: callers that
    need atomicity write to a temporary name and rename.
    """
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter, quants

    old, new = GGMLQuantizationType[from_type], GGMLQuantizationType[to_type]
    reader = GGUFReader(source)
    architecture = reader.fields["general.architecture"].contents()
    writer = GGUFWriter(target, architecture)
    _copy_metadata(reader, writer, file_type=_FILE_TYPES[to_type])
    changed = 0
    for tensor in reader.tensors:
        if tensor.tensor_type == old:
            data = quants.quantize(quants.dequantize(tensor.data, old), new)
            writer.add_tensor(tensor.name, data, raw_dtype=new)
            changed += 1
        elif tensor.tensor_type in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
            writer.add_tensor(tensor.name, np.asarray(tensor.data))
        else:
            writer.add_tensor(tensor.name, np.asarray(tensor.data), raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return changed


def _copy_metadata(reader, writer, *, file_type: int) -> None:
    from gguf import GGUFValueType

    for name, field in reader.fields.items():
        # The header fields are the writer's own; it also writes the architecture itself.
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        value = file_type if name == "general.file_type" else field.contents()
        kind = field.types[0]
        if kind == GGUFValueType.ARRAY:
            writer.add_key_value(name, value, kind, sub_type=field.types[-1])
        else:
            writer.add_key_value(name, value, kind)
