#!/usr/bin/env python3
"""Runs ONNX's own backend node tests of the op families transformer models
use through `llm-run` on a target (host by default) and writes a
conformance report.

    /usr/bin/python3 scripts/conformance.py [--out docs/conformance.md]
        [--target host|ptx|hls|npu] [--min-rate 0.95] [--jobs 2]
        [--timeout 120] [--subset] [--filter REGEX] [--llm-run PATH]
        [--testdata DIR] [--in-process]

Each test is a folder DIR/<test>/ with model.onnx and test_data_set_N/
(input_K.pb, output_K.pb). A test passes when, for every data set, `llm-run`
exits 0 with every output matching within --rtol/--atol. A test is out of
scope when the model uses what llmc deliberately does not support (string,
bfloat16, uint32 or uint64 tensors, sequences, ...; uint8 and uint16 tensors
are signless i8 and i16 read unsigned where the value matters):
out_of_scope_reason() says which and why; those are listed, not counted.

Beside the node tests, the model tests of ONNX's test data (the folders
MODEL_SUITES next to --testdata: PyTorch's converted modules and operators,
ONNX's small models) run whole, each suite a family of its own; their names
in the report are SUITE/test_NAME.

ONNX writes each node test at the opset that introduced its op (And at 7,
Range at 11). llmc imports a model below opset 13 by upgrading it to 13 with
ONNX's version converter, so those tests run as they are.

On the other targets the models run as those targets compile them
(TARGET_FLAGS): ptx on the GPU emulator (the gpu-dialect kernels on the
CPU), npu as a W8A8 model. A test whose model has a product the target
computes in fewer bits than fp32 (PRODUCT_OPS: bf16 tensor-core operands
on ptx, int8 ones on npu) is checked within that target's PRODUCT_TOLERANCE
instead of --rtol/--atol; every other test is held to --rtol/--atol on
every target.

The exit status is 1 when the pass rate of the in-scope tests is below --min-rate, 2 on bad usage.

--in-process runs each data set's llm-run command in one of --jobs worker
processes that import the llmc Python package and call llm-run's body
(scripts/llm_run_pool.py: llmRunMain, the executable's code after
InitLLVM), instead of starting llm-run for each: the same exit codes and
messages without a tool's start-up per data set. A run that crashes or
passes --timeout in a worker runs again as the llm-run executable.

--subset runs a fixed, representative part of each family (the first
SUBSET_PER_FAMILY tests in name order) so the lit test stays fast; the report
in docs/ is written from a full run.
"""
import argparse
import concurrent.futures
import datetime
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm_run_pool import LLMRunPool, run_llm_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TESTDATA = "/usr/share/libonnx-testdata/data/node"

# Family -> regular expressions matched (re.fullmatch) against test folder
# names. Written out per family so that a look-alike (test_expand for Exp,
# test_maxpool for Max, test_reduce_sum_square for ReduceSum) never slips in.
FAMILIES = {
    "MatMul": [r"test_matmul_\w+"],
    "Gemm": [r"test_gemm_\w+"],
    "Add": [r"test_add(_\w+)?"],
    "Sub": [r"test_sub(_\w+)?"],
    "Mul": [r"test_mul(_\w+)?"],
    "Div": [r"test_div(_\w+)?"],
    "Pow": [r"test_pow(_\w+)?"],
    "Exp": [r"test_exp(_example)?"],
    "Log": [r"test_log(_example)?"],
    "Tanh": [r"test_tanh(_example)?"],
    "Erf": [r"test_erf"],
    "Sqrt": [r"test_sqrt(_example)?"],
    "Reciprocal": [r"test_reciprocal(_example)?"],
    "Neg": [r"test_neg(_example)?"],
    "Abs": [r"test_abs"],
    "Relu": [r"test_relu"],
    "Sigmoid": [r"test_sigmoid(_example)?"],
    "Sin": [r"test_sin(_example)?"],
    "Cos": [r"test_cos(_example)?"],
    "Floor": [r"test_floor(_example)?"],
    "Ceil": [r"test_ceil(_example)?"],
    "Softmax": [r"test_softmax_\w+"],
    "LogSoftmax": [r"test_logsoftmax_\w+"],
    "NegativeLogLikelihoodLoss": [r"test_nllloss_\w+"],
    "SoftmaxCrossEntropyLoss": [r"test_sce_\w+"],
    "LayerNormalization": [r"test_layer_normalization_\w+"],
    "InstanceNormalization": [r"test_instancenorm_\w+"],
    "Gelu": [r"test_gelu_\w+"],
    "Reshape": [r"test_reshape_\w+"],
    "Transpose": [r"test_transpose_\w+"],
    "Concat": [r"test_concat_\w+"],
    "Slice": [r"test_slice(_\w+)?"],
    "Split": [r"test_split_\w+"],
    "Gather": [r"test_gather_\d", r"test_gather_2d_indices",
               r"test_gather_negative_indices"],
    "Expand": [r"test_expand_\w+"],
    "Where": [r"test_where_\w+"],
    "Cast": [r"test_cast_\w+", r"test_castlike_\w+"],
    "Unsqueeze": [r"test_unsqueeze_\w+"],
    "Squeeze": [r"test_squeeze(_\w+)?"],
    "Flatten": [r"test_flatten_\w+"],
    "Equal": [r"test_equal(_bcast)?"],
    "Less": [r"test_less(_bcast)?"],
    "LessOrEqual": [r"test_less_equal\w*"],
    "Greater": [r"test_greater(_bcast)?"],
    "GreaterOrEqual": [r"test_greater_equal\w*"],
    "And": [r"test_and(\d|_)\w*"],
    "Or": [r"test_or(\d|_)\w*"],
    "Xor": [r"test_xor(\d|_)\w*"],
    "Not": [r"test_not_\w+"],
    "BitShift": [r"test_bitshift_\w+"],
    "ReduceMean": [r"test_reduce_mean_\w+"],
    "ReduceSum": [r"test_reduce_sum_(?!square)\w+"],
    "ReduceMax": [r"test_reduce_max_\w+"],
    "ReduceMin": [r"test_reduce_min_\w+"],
    "ReduceProd": [r"test_reduce_prod_\w+"],
    "Range": [r"test_range_\w+"],
    "Trilu": [r"test_tril(_\w+)?", r"test_triu(_\w+)?"],
    "Shape": [r"test_shape(_\w+)?"],
    "Size": [r"test_size(_\w+)?"],
    "ConstantOfShape": [r"test_constantofshape_\w+"],
    "Constant": [r"test_constant"],
    "Identity": [r"test_identity(_\w+)?"],
    "Clip": [r"test_clip(_\w+)?"],
    "Tile": [r"test_tile(_\w+)?"],
    "Max": [r"test_max_(?!pool)\w+"],
    "Min": [r"test_min_\w+"],
    "Sum": [r"test_sum_\w+"],
    "Mod": [r"test_mod_\w+"],
    "Dropout": [r"test_dropout_\w+"],
    # Activations ONNX defines as functions; the _expanded variants are the
    # same function written out in ONNX ops.
    "Softplus": [r"test_softplus(_example)?(_expanded\w*)?"],
    "Softsign": [r"test_softsign(_example)?(_expanded\w*)?"],
    "LeakyRelu": [r"test_leakyrelu(_default|_example)?(_expanded\w*)?"],
    "ThresholdedRelu": [r"test_thresholdedrelu(_default|_example)?(_expanded\w*)?"],
    "Elu": [r"test_elu(_default|_example)?(_expanded\w*)?"],
    "Selu": [r"test_selu(_default|_example)?(_expanded\w*)?"],
    "Celu": [r"test_celu(_expanded\w*)?"],
    "HardSigmoid": [r"test_hardsigmoid(_default|_example)?(_expanded\w*)?"],
    "HardSwish": [r"test_hardswish(_expanded\w*)?"],
    "Mish": [r"test_mish(_expanded\w*)?"],
    "PRelu": [r"test_prelu_\w+"],
    "Sign": [r"test_sign"],
    "Round": [r"test_round"],
    "IsNaN": [r"test_isnan"],
    "IsInf": [r"test_isinf(_negative|_positive)?"],
    "Einsum": [r"test_einsum_\w+"],
    "CumSum": [r"test_cumsum_\w+"],
    # ONNX's quantized forms (the _expanded variants decompose into Cast to
    # uint8 and Round, which the importer does not take).
    "QuantizeLinear": [r"test_quantizelinear(_axis)?"],
    "DequantizeLinear": [r"test_dequantizelinear(_axis)?"],
    "DynamicQuantizeLinear": [r"test_dynamicquantizelinear(_max_adjusted|_min_adjusted)?(_expanded)?"],
    "MatMulInteger": [r"test_matmulinteger"],
    "QLinearMatMul": [r"test_qlinearmatmul_\w+"],
    # Reductions and index ops of pooling, sampling and mask construction.
    "ReduceL1": [r"test_reduce_l1_\w+"],
    "ReduceL2": [r"test_reduce_l2_\w+"],
    "ReduceSumSquare": [r"test_reduce_sum_square_\w+"],
    "ReduceLogSum": [r"test_reduce_log_sum(_(?!exp)\w+)?"],
    "ReduceLogSumExp": [r"test_reduce_log_sum_exp_\w+"],
    "ArgMax": [r"test_argmax_\w+"],
    "ArgMin": [r"test_argmin_\w+"],
    "GatherElements": [r"test_gather_elements_\w+"],
    "GatherND": [r"test_gathernd_\w+"],
    "ScatterElements": [r"test_scatter_elements_\w+", r"test_scatter_with(out)?_axis"],
    "ScatterND": [r"test_scatternd(_\w+)?"],
    "TopK": [r"test_top_k(_\w+)?"],
    "OneHot": [r"test_onehot_\w+"],
    "NonZero": [r"test_nonzero_example"],
    "Mean": [r"test_mean_\w+"],
    "GlobalAveragePool": [r"test_globalaveragepool(_precomputed)?"],
    "GlobalMaxPool": [r"test_globalmaxpool(_precomputed)?"],
    "BatchNormalization": [r"test_batchnorm_\w+"],
    "Hardmax": [r"test_hardmax_\w+"],
    # Convolution (vision transformers' patch embeddings, speech encoders'
    # front ends) and padding, as gathers and a matmul.
    "Conv": [r"test_basic_conv_\w+", r"test_conv_with_\w+"],
    "Pad": [r"test_constant_pad", r"test_edge_pad", r"test_reflect_pad"],
    # Windowed pooling (convolutional stems, hierarchical vision
    # transformers) and Resize (segmentation and detection heads,
    # interpolated position embeddings), as gathers.
    "MaxPool": [r"test_maxpool_\w+"],
    "MaxUnpool": [r"test_maxunpool_\w+"],
    "Compress": [r"test_compress_\w+"],
    "AveragePool": [r"test_averagepool_\w+"],
    "Resize": [r"test_resize_\w+"],
    "Upsample": [r"test_upsample_\w+"],
    # Upsampling decoders (a segmenter's mask decoder) and pixel shuffles.
    "ConvTranspose": [r"test_convtranspose(_\w+)?"],
    "DepthToSpace": [r"test_depthtospace_\w+"],
    "SpaceToDepth": [r"test_spacetodepth(_\w+)?"],
    # Sampling at run-time positions (deformable attention's grid_sample).
    "GridSample": [r"test_gridsample(_\w+)?"],
    # An audio front end: spectra by DFT and STFT, windows, mel filters.
    "DFT": [r"test_dft(_\w+)?"],
    "STFT": [r"test_stft(_\w+)?"],
    "HannWindow": [r"test_hannwindow\w*"],
    "HammingWindow": [r"test_hammingwindow\w*"],
    "BlackmanWindow": [r"test_blackmanwindow\w*"],
    "MelWeightMatrix": [r"test_melweightmatrix"],
    # quantize_dynamic's and the QOperator format's convolutions.
    "ConvInteger": [r"test_convinteger_\w+", r"test_basic_convinteger"],
    "QLinearConv": [r"test_qlinearconv"],
    # Trigonometric and hyperbolic functions, Shrink, mean-variance
    # normalization and EyeLike, built from llm ops.
    "Tan": [r"test_tan(_example)?"],
    "Asin": [r"test_asin(_example)?"],
    "Acos": [r"test_acos(_example)?"],
    "Atan": [r"test_atan(_example)?"],
    "Sinh": [r"test_sinh(_example)?"],
    "Cosh": [r"test_cosh(_example)?"],
    "Asinh": [r"test_asinh(_example)?"],
    "Acosh": [r"test_acosh(_example)?"],
    "Atanh": [r"test_atanh(_example)?"],
    "Shrink": [r"test_shrink_\w+"],
    "MeanVarianceNormalization": [r"test_mvn(_expanded)?"],
    "EyeLike": [r"test_eyelike_\w+"],
    # Sequence reversal (bidirectional layers' exports) and the local
    # response normalization of the Model Zoo's older CNNs.
    "ReverseSequence": [r"test_reversesequence_\w+"],
    "LRN": [r"test_lrn(_default)?"],
    # Recurrent layers (speech front ends, older sequence models), unrolled.
    "RNN": [r"test_rnn_\w+", r"test_simple_rnn_\w+"],
    "GRU": [r"test_gru_\w+"],
    "LSTM": [r"test_lstm_\w+"],
    # Control flow, resolved at compile time: the branch a constant
    # condition names, loops unrolled.
    "If": [r"test_if(_\w+)?"],
    "Loop": [r"test_loop\d+(_\w+)?"],
    "Scan": [r"test_scan(9)?_sum"],
}
# ONNX's model tests: folders beside the node tests' folder, each taken whole
# as one family. PyTorch's early exports, mostly of opset 6 (convolutions,
# pooling, normalization, activations; operators such as addmm, chunk,
# repeat, view) and ONNX's small models (Expand by a shape input, sequence
# ops inside a graph of tensors).
MODEL_SUITES = ["pytorch-converted", "pytorch-operator", "simple"]

MIN_OPSET = 13
MAX_OPSET = 24
# Element types llmc does not take (onnx.TensorProto.DataType values).
UNSUPPORTED_TYPES = {
    8: "string tensors",
    16: "bfloat16: ONNX 1.12's test data holds these tensors as uint16 (data "
        "type 4), which llm-run does not bind to or compare with bf16 values",
    12: "uint32 tensors (llm integers are signed)",
    13: "uint64 tensors (llm integers are signed)",
}
# Tests out of scope for a reason the model alone does not show.
# ONNX 1.12 computes the expected windows with pi = 3.1415 (max |diff| 7e-5
# from the exact window, 9e-8 with 3.1415): llmc computes 2 pi n / N exactly.
_PI_3_1415 = ("its expected output is computed with pi = 3.1415 (up to 7e-5 "
              "from the window with pi); llmc's window uses pi")
OUT_OF_SCOPE_TESTS = {
    **{f"test_{kind}window{variant}": _PI_3_1415
       for kind in ("hann", "hamming", "blackman")
       for variant in ("", "_symmetric", "_expanded", "_symmetric_expanded")},
    "test_gridsample_bicubic": "its expected output is rounded to 4 decimals "
        "(-0.1406 where torch's grid_sample gives -0.140625, off by more than "
        "--rtol); llm-run matches torch's float32 result on this input",
}

SUBSET_PER_FAMILY = 3

# llm-run's flags per target: ptx runs on the GPU emulator (no GPU needed);
# the npu multiplies int8 activations by int8 weights.
TARGET_FLAGS = {
    "host": [],
    "ptx": ["--emulate-gpu"],
    "hls": [],
    "npu": ["--quant", "int8", "--quant-activations", "dynamic"],
}
# Ops a target computes in fewer bits than fp32: the ptx backend rounds
# products' operands to bf16 (as its tensor cores take them; the
# recurrent layers, DFT and STFT are products too), the npu quantizes
# products with a weight operand, and embedding tables, to int8.
PRODUCT_OPS = {"MatMul", "Gemm", "Conv", "ConvTranspose", "RNN", "GRU", "LSTM",
               "DFT", "STFT", "Einsum"}
# Target -> (rtol, fraction of the output's largest magnitude as atol) for
# the tests with a product. On ONNX 1.12's data ptx's worst (a GRU's
# hidden state after 5 steps of bf16 products) fails at 1e-2 for both and
# passes at 2e-2; npu's (int8 DFT and convolutions) pass at 1e-2.
PRODUCT_TOLERANCE = {
    "ptx": (2e-2, 2e-2),
    "npu": (2e-2, 2e-2),
}
# Test -> whether its model is of an opset below 13, which llmc upgrades
# (filled by discover()).
UPGRADED = {}


def family_of(test):
    for family, patterns in FAMILIES.items():
        if any(re.fullmatch(p, test) for p in patterns):
            return family
    return None


def default_opset(model):
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return versions[0] if versions else None


def out_of_scope_reason(test, model):
    """Why a test is out of scope, or None."""
    if test in OUT_OF_SCOPE_TESTS:
        return OUT_OF_SCOPE_TESTS[test]
    graph = model.graph
    unsupported = UNSUPPORTED_TYPES
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        kind = value.type.WhichOneof("value")
        if kind in ("sequence_type", "optional_type", "map_type"):
            return f"{kind.replace('_type', '')} values (llmc takes tensors only)"
        if kind == "tensor_type" and value.type.tensor_type.elem_type in unsupported:
            return unsupported[value.type.tensor_type.elem_type]
    for node in graph.node:
        if node.domain == "ai.onnx.preview.training":
            return f"training: {node.op_type} (domain ai.onnx.preview.training)"
        for attr in node.attribute:
            if attr.name == "to" and attr.i in unsupported:
                return unsupported[attr.i]
        if node.op_type == "Dropout":
            if len(node.output) > 1 and node.output[1]:
                return "Dropout's mask output (training only)"
            if len(node.input) > 2 and node.input[2]:
                return "training-mode Dropout (random; inference graphs fold it away)"
        if node.op_type == "BatchNormalization" and any(
                attr.name == "training_mode" and attr.i for attr in node.attribute):
            return "training-mode BatchNormalization (the batch's statistics; eval exports " \
                   "use the running ones)"
    return None


def test_dir(testdata, test):
    """A node test's folder, or a model test's (SUITE/test_NAME)."""
    if "/" in test:
        return os.path.join(os.path.dirname(os.path.normpath(testdata)), test)
    return os.path.join(testdata, test)


def candidates(testdata):
    """(family, test) of every node test of a family and every model test."""
    for path in sorted(glob.glob(os.path.join(testdata, "test_*"))):
        test = os.path.basename(path)
        family = family_of(test)
        if family is not None:
            yield family, test
    for suite in MODEL_SUITES:
        for path in sorted(glob.glob(test_dir(testdata, f"{suite}/test_*"))):
            yield suite, f"{suite}/{os.path.basename(path)}"


def discover(testdata, regex, subset):
    import onnx

    tests = []  # (family, test, reason or None)
    for family, test in candidates(testdata):
        if regex and not re.search(regex, test):
            continue
        path = test_dir(testdata, test)
        model_path = os.path.join(path, "model.onnx")
        if not os.path.exists(model_path):
            continue
        model = onnx.load(model_path)
        UPGRADED[test] = (default_opset(model) or MIN_OPSET) < MIN_OPSET
        tests.append((family, test, out_of_scope_reason(test, model)))
    if subset:
        taken, kept = {}, []
        for family, test, reason in tests:
            if reason is None and taken.get(family, 0) < SUBSET_PER_FAMILY:
                taken[family] = taken.get(family, 0) + 1
                kept.append((family, test, reason))
        tests = kept
    return tests


def read_tensor(path):
    """The TensorProto a test's input_K.pb or output_K.pb holds."""
    import onnx

    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor


def tensor_name(path):
    return read_tensor(path).name


def has_product(model):
    """Whether the model has an op of PRODUCT_OPS, or a Gather from an
    initializer (an embedding table)."""
    initializers = {t.name for t in model.graph.initializer}
    return any(node.op_type in PRODUCT_OPS or
               (node.op_type == "Gather" and node.input[0] in initializers)
               for node in model.graph.node)


def largest_magnitude(paths):
    """The largest |value| of the float tensors in `paths` (0 if none)."""
    import numpy
    from onnx import numpy_helper

    largest = 0.0
    for path in paths:
        array = numpy_helper.to_array(read_tensor(path))
        if array.size and numpy.issubdtype(array.dtype, numpy.floating):
            finite = array[numpy.isfinite(array)]
            if finite.size:
                largest = max(largest, float(numpy.abs(finite).max()))
    return largest


def tolerance_for(model, expected, args):
    """(rtol, atol) of a data set: --rtol/--atol, or the target's
    PRODUCT_TOLERANCE for a model with a product."""
    if args.target in PRODUCT_TOLERANCE and has_product(model):
        rtol, fraction = PRODUCT_TOLERANCE[args.target]
        return max(args.rtol, rtol), max(args.atol,
                                         fraction * largest_magnitude(expected))
    return args.rtol, args.atol


def command_for(llm_run, model_path, model, data_set, args):
    """llm-run's command line for one data set: tensors are bound by the
    graph's names in order, as ONNX's backend runner binds them."""
    initializers = {t.name for t in model.graph.initializer}
    input_names = [i.name for i in model.graph.input if i.name not in initializers]
    output_names = [o.name for o in model.graph.output]
    command = [llm_run, model_path, "--target", args.target] + TARGET_FLAGS[args.target]
    expected = []
    for kind, names, flag in (("input", input_names, "--input"),
                              ("output", output_names, "--expect")):
        files = sorted(glob.glob(os.path.join(data_set, f"{kind}_*.pb")),
                       key=lambda p: int(re.search(r"_(\d+)\.pb$", p).group(1)))
        for index, path in enumerate(files):
            name = names[index] if index < len(names) else tensor_name(path)
            command += [flag, f"{name}={path}"]
            if kind == "output":
                expected.append(path)
    rtol, atol = tolerance_for(model, expected, args)
    command += ["--rtol", f"{rtol:g}", "--atol", f"{atol:g}"]
    return command


def reason_of(output):
    """The tool's one-line error: its last error or check-failed line."""
    lines = [l.strip() for l in output.splitlines() if l.strip()]
    for line in reversed(lines):
        if "error:" in line or "check failed" in line:
            return line
    return lines[-1] if lines else "no output"


# With --in-process, the llm_run_pool.LLMRunPool that run_test runs llm-run in.
POOL = None


def run_test(llm_run, testdata, test, args):
    folder = test_dir(testdata, test)
    data_sets = sorted(glob.glob(os.path.join(folder, "test_data_set_*")))
    if not data_sets:
        return False, "no test_data_set_* folder", ""
    import onnx

    model_path = os.path.join(folder, "model.onnx")
    model = onnx.load(model_path, load_external_data=False)
    for data_set in data_sets:
        command = command_for(llm_run, model_path, model, data_set, args)
        try:
            done = run_llm_run(llm_run, command[1:], args.timeout, POOL)
        except subprocess.TimeoutExpired:
            return False, f"timed out after {args.timeout:g} s", shlex.join(command)
        if done.returncode != 0:
            if done.returncode < 0:
                why = f"crashed (signal {-done.returncode})"
            else:
                why = f"exit {done.returncode}: " + reason_of(done.stderr + done.stdout)
            return False, why, shlex.join(command)
    return True, "", ""


def find_llm_run(given):
    if given:
        return given
    on_path = shutil.which("llm-run")
    if on_path:
        return on_path
    return os.path.join(ROOT, "build", "bin", "llm-run")


def testdata_version():
    """ " (libonnx-testdata VERSION)" where dpkg knows the package."""
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libonnx-testdata"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return f" (libonnx-testdata {done.stdout.strip()})" if done.returncode == 0 else ""


def markdown_escape(text):
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(path, args, llm_run, tests, results, elapsed):
    in_scope = [(f, t) for f, t, r in tests if r is None]
    out_scope = [(f, t, r) for f, t, r in tests if r is not None]
    passed = sum(1 for f, t in in_scope if results[t][0])
    total = len(in_scope)
    rate = passed / total if total else 0.0
    command = "/usr/bin/python3 scripts/conformance.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:])
    lines = [
        "# ONNX backend conformance of the transformer op families"
        + ("" if args.target == "host" else f" on the {args.target} target"),
        "",
        f"Generated by `scripts/conformance.py` on "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} "
        f"({elapsed:.0f} s, {args.jobs} workers).",
        "",
        f"- Command: `{command}`",
        f"- Tests: ONNX's backend node tests in `{args.testdata}`"
        f"{testdata_version()}, selected by family (the patterns are "
        "`FAMILIES` in the script), and the model tests beside them "
        f"({', '.join(MODEL_SUITES)}), each suite a family",
        f"- Each data set runs as `{os.path.relpath(llm_run, ROOT) if llm_run.startswith(ROOT) else llm_run} "
        f"DIR/model.onnx {shlex.join(['--target', args.target] + TARGET_FLAGS[args.target])} "
        f"--input NAME=input_K.pb ... --expect "
        f"NAME=output_K.pb ... --rtol {args.rtol:g} --atol {args.atol:g}` "
        f"(timeout {args.timeout:g} s)",
    ]
    if args.in_process:
        lines.append(
            f"- Run --in-process: each such command by llm-run's body in one of "
            f"{args.jobs} worker processes (scripts/llm_run_pool.py); a run that "
            "crashed or timed out there ran again as the executable")
    lines += [
        "- Where a test gives an op's constant operand as a graph input (Reshape's "
        "shape, Slice's starts, a reduction's axes), llm-run takes it from the "
        "input's value, as it takes dynamic dims from input shapes",
    ]
    if args.target in PRODUCT_TOLERANCE:
        rtol, fraction = PRODUCT_TOLERANCE[args.target]
        why = ("ptx rounds products' operands to bf16, as its tensor cores "
               "take them" if args.target == "ptx" else
               "the npu computes products with a weight operand, and "
               "embedding tables, in int8")
        lines.append(
            f"- A model with a product ({', '.join(sorted(PRODUCT_OPS))}, or a "
            f"Gather from an initializer) is checked with --rtol {rtol:g} and "
            f"--atol {fraction:g} times its expected outputs' largest "
            f"magnitude (at least the flags' own): {why}")
    lines += [
        "",
        f"**{passed} / {total} in-scope tests pass ({100 * rate:.1f} %)**; "
        f"{len(out_scope)} more are out of scope (listed below).",
        "",
        "## Per family",
        "",
        "\"Upgraded\" counts the in-scope tests written at an opset below 13, "
        "which llmc upgrades to opset 13 with ONNX's version converter.",
        "",
        "| Family | Passed | In scope | Upgraded | Out of scope |",
        "|---|---:|---:|---:|---:|",
    ]
    for family in list(FAMILIES) + MODEL_SUITES:
        fam_in = [t for f, t in in_scope if f == family]
        fam_out = [t for f, t, r in out_scope if f == family]
        if not fam_in and not fam_out:
            lines.append(f"| {family} | – | 0 | 0 | 0 (no test in this ONNX release) |")
            continue
        fam_passed = sum(1 for t in fam_in if results[t][0])
        upgraded = sum(1 for t in fam_in if UPGRADED.get(t))
        lines.append(f"| {family} | {fam_passed} | {len(fam_in)} | {upgraded} | "
                     f"{len(fam_out)} |")
    lines += ["", "## Failures", ""]
    failures = [(f, t) for f, t in in_scope if not results[t][0]]
    if not failures:
        lines.append("None.")
    else:
        lines += ["| Family | Test | Reason |", "|---|---|---|"]
        for family, test in failures:
            lines.append(f"| {family} | `{test}` | {markdown_escape(results[test][1])} |")
    lines += ["", "## Out of scope", ""]
    if not out_scope:
        lines.append("None.")
    else:
        lines += ["| Family | Test | Reason |", "|---|---|---|"]
        for family, test, reason in out_scope:
            lines.append(f"| {family} | `{test}` | {markdown_escape(reason)} |")
    lines += ["", "## Fixed out-of-scope reasons", "",
              "- string, uint32 and uint64 tensors: not element types of the "
              "llm dialect (uint8 and uint16 import as i8 and i16 read "
              "unsigned)",
              "- bfloat16 tests: llmc computes in bf16, but the test data stores "
              "bf16 tensors as uint16",
              "- sequence and optional values: llmc's graphs take and return tensors",
              "- training ops (ai.onnx.preview.training: Gradient): llmc "
              "compiles inference graphs",
              "- Dropout's mask output and training mode: training only; "
              "inference Dropout is the identity", ""]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return passed, total, rate


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testdata", default=DEFAULT_TESTDATA,
                        help="ONNX backend node tests (default: %(default)s)")
    parser.add_argument("--llm-run", help="llm-run to test (default: llm-run on "
                        "PATH, else build/bin/llm-run)")
    parser.add_argument("--target", default="host", choices=sorted(TARGET_FLAGS),
                        help="llm-run's target (default: host)")
    parser.add_argument("--out", help="report to write (default: "
                        "docs/conformance.md for host, else "
                        "docs/conformance-TARGET.md)")
    parser.add_argument("--min-rate", type=float, default=0.0,
                        help="exit 1 if the in-scope pass rate is below this")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds per llm-run call")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--filter", help="run only tests whose name matches REGEX")
    parser.add_argument("--subset", action="store_true",
                        help=f"run the first {SUBSET_PER_FAMILY} in-scope tests "
                        "of each family only")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each failure's command")
    parser.add_argument("--in-process", action="store_true",
                        help="run llm-run's body in --jobs worker processes "
                        "(scripts/llm_run_pool.py) instead of a process per "
                        "data set; a run that crashes or times out there runs "
                        "again as the llm-run executable")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.out is None:
        args.out = os.path.join(ROOT, "docs", "conformance.md" if args.target == "host"
                                else f"conformance-{args.target}.md")
    try:
        import onnx  # noqa: F401
    except ImportError:
        print("conformance: error: the onnx Python package is needed", file=sys.stderr)
        return 2
    if not os.path.isdir(args.testdata):
        print(f"conformance: error: {args.testdata}: no such folder (install "
              "libonnx-testdata or pass --testdata)", file=sys.stderr)
        return 2
    llm_run = find_llm_run(args.llm_run)
    if not os.access(llm_run, os.X_OK):
        print(f"conformance: error: {llm_run}: not an executable", file=sys.stderr)
        return 2
    if args.filter:
        try:
            re.compile(args.filter)
        except re.error as error:
            print(f"conformance: error: --filter: {error}", file=sys.stderr)
            return 2

    global POOL
    if args.in_process:
        try:
            POOL = LLMRunPool(llm_run, args.jobs)
        except ImportError as error:
            print(f"conformance: error: --in-process needs the llmc Python "
                  f"package (build/python, or on PYTHONPATH): {error}",
                  file=sys.stderr)
            return 2
    started = time.time()
    tests = discover(args.testdata, args.filter, args.subset)
    to_run = [t for f, t, r in tests if r is None]
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = dict(zip(to_run, pool.map(
                lambda t: run_test(llm_run, args.testdata, t, args), to_run)))
    finally:
        if POOL:
            POOL.close()
    for test in to_run:
        ok, why, command = results[test]
        if not ok:
            print(f"FAIL {test}: {why}", file=sys.stderr)
            if args.verbose and command:
                print(f"     {command}", file=sys.stderr)
    passed, total, rate = write_report(args.out, args, llm_run, tests, results,
                                       time.time() - started)
    out_of_scope = len(tests) - total
    print(f"conformance: {passed}/{total} in-scope tests pass ({100 * rate:.1f} %), "
          f"{out_of_scope} out of scope; report: {args.out}")
    if total == 0 or rate < args.min_rate:
        print(f"conformance: error: pass rate {100 * rate:.1f} % is below "
              f"--min-rate {100 * args.min_rate:.1f} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
