"""llmc: compile ONNX transformer models for host, GPU, FPGA and NPU targets.

    import llmc
    model = llmc.compile("model.onnx", target="host")
    outputs = model.run({"input_ids": ids})   # dict of numpy arrays
    print(model.report())

Errors raise llmc.Error (a ValueError) with the message the tools print.
"""
import os

from ._llmc import CompiledModel, Error, load
from . import _llmc

__all__ = ["compile", "load", "CompiledModel", "Error"]


def compile(model, target="host", quant=None, shapes=None, target_desc=None):
    """Compiles `model` for `target`.

    model: a path to an .onnx file, the bytes of one, or an onnx.ModelProto.
    quant: None or "none"; "int8" (W8A8, static activation scales
        calibrated on synthetic inputs), "w8" or "w4" (weight-only). fp8 needs
        a target with fp8 and is rejected on the host.
    shapes: {input name: dims} for inputs with dynamic dimensions.
    target_desc: a target description file (not supported yet).
    """
    if target_desc is not None:
        raise Error("target descriptions (target_desc) are not supported yet")
    if shapes is not None:
        shapes = {str(name): [int(d) for d in dims] for name, dims in shapes.items()}
    if isinstance(model, (str, os.PathLike)):
        return _llmc._compile_file(os.fspath(model), target, quant, shapes)
    if isinstance(model, (bytes, bytearray, memoryview)):
        return _llmc._compile_bytes(bytes(model), "<bytes>", target, quant, shapes)
    if hasattr(model, "SerializeToString"):
        return _llmc._compile_bytes(model.SerializeToString(), "<ModelProto>",
                                    target, quant, shapes)
    raise TypeError("llmc.compile expects a path, bytes or an onnx.ModelProto, "
                    f"not {type(model).__name__}")
