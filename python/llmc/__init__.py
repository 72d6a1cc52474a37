"""llmc: compile ONNX transformer models for host, GPU, FPGA and NPU targets.

    import llmc
    model = llmc.compile("model.onnx", target="host")
    outputs = model.run({"input_ids": ids})   # dict of numpy arrays
    print(model.report())

Errors raise llmc.Error (a ValueError) with the message the tools print.
"""
import os

from ._llmc import CompiledModel, Error, compare, load, read_tensor
from . import _llmc

__all__ = ["compile", "run", "load", "read_tensor", "compare", "CompiledModel", "Error"]


def _flat(value):
    """A number, a nested list or an array as a flat list of floats."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _flat(item)]
    return [float(value)]


def _descs(target_desc):
    """target_desc as a list of paths or bundled names."""
    if target_desc is None:
        return []
    if isinstance(target_desc, (str, os.PathLike)):
        return [os.fspath(target_desc)]
    return [os.fspath(d) for d in target_desc]


def _source(model, function):
    """(path, None) for a path; (bytes, display name) for the bytes of a
    model or an onnx.ModelProto."""
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model), None
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "<bytes>"
    if hasattr(model, "SerializeToString"):
        return model.SerializeToString(), "<ModelProto>"
    raise TypeError(f"llmc.{function} expects a path, bytes or an onnx.ModelProto, "
                    f"not {type(model).__name__}")


def compile(model, target="host", quant=None, shapes=None, target_desc=None,
            calib=None, quant_options=None, values=None):
    """Compiles `model` for `target`.

    model: a path to an .onnx file, the bytes of one, or an onnx.ModelProto.
    target: "host", "ptx", "hls" or "npu". "npu" needs quant="int8": the
        linear layers run as NPU instruction streams on the simulator
        (bit-identical to the host's int8 reference); the model's stats()
        then has the simulated cycles, utilization and energy per layer.
        A list of targets returns {target: compiled model}: the model is
        imported once and, with a quant, calibrated once for all of them,
        as llm-compile --target all does. "all" is the list of every
        target that can run `quant` (npu only at int8, hls not at fp8).
    quant: None or "none"; "int8" (W8A8), "fp8" (W8A8 in FP8 E4M3: ptx,
        and the host as its reference; hls and npu refuse it), "w8" or "w4"
        (weight-only).
    calib: an .npz file of calibration inputs (np.savez, one array per model
        input); without it, synthetic inputs are used with a warning.
    quant_options: {"activations": "static"|"dynamic", "calibration":
        "minmax"|"percentile", "percentile": 99.99, "smoothquant": alpha,
        "group_size": 128, "weights": "rtn"|"gptq", "gptq_act_order":
        True}, as llm-compile's --quant-* options.
    shapes: {input name: dims} for inputs with dynamic dimensions.
    values: {input name: value or list of values} fixed at compile time, as
        llm-compile's --value (a merged decoder's use_cache_branch); run()
        then refuses other values of those inputs.
    target_desc: a target description (a bundled name such as "h100", a path
        to a JSON file, or a list of them); each replaces the default
        description of its kind's backend in report()'s estimates (an npu
        one is also the machine the npu target's kernels run on).
    """
    descs = _descs(target_desc)
    if shapes is not None:
        shapes = {str(name): [int(d) for d in dims] for name, dims in shapes.items()}
    if values is not None:
        values = {str(name): _flat(value) for name, value in values.items()}
    options = dict(quant_options or {})
    if calib is not None:
        options["calib"] = os.fspath(calib)
    options = options or None
    if target == "all":
        target = _llmc._targets_for_all(quant)
    several = isinstance(target, (list, tuple))
    targets = [str(t) for t in target] if several else [target]
    if several and (not targets or len(set(targets)) != len(targets)):
        raise ValueError("llmc.compile: target needs distinct targets, "
                         f"got {targets}")
    source, name = _source(model, "compile")
    if name is None:
        models = _llmc._compile_file_targets(source, targets, quant, shapes,
                                             descs, options, values)
    else:
        models = _llmc._compile_bytes_targets(source, name, targets, quant,
                                              shapes, descs, options, values)
    return dict(zip(targets, models)) if several else models[0]


def run(model, inputs, target="host", quant=None, quant_options=None,
        target_desc=None, emulate_gpu=False):
    """Compiles `model` for these inputs and runs it once, as `llm-run MODEL
    --input NAME=FILE ...` does; returns {output name: array}.

    The model is specialized to the inputs: dynamic dims take their shapes,
    and the values of inputs of up to 64 elements are known where an op
    needs a constant (a Reshape's shape or a Slice's bounds given as graph
    inputs). To run a model on many inputs, compile() it once instead.
    model, target, quant, quant_options and target_desc are compile()'s;
    emulate_gpu (target "ptx") runs the kernels on the CPU's GPU emulator.
    """
    descs = _descs(target_desc)
    source, name = _source(model, "run")
    return _llmc._run_once(source, name or "", dict(inputs), target, quant, descs,
                           dict(quant_options) if quant_options else None,
                           bool(emulate_gpu))
