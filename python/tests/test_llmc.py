"""Tests of the llmc Python package against the bundled GPT-2-style export
(examples/gpt2-tiny: model, input ids and torch's logits)."""
import os
import time

import numpy as np
import pytest

import llmc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "gpt2-tiny")
MODEL = os.path.join(EXAMPLE, "model.onnx")


@pytest.fixture(scope="module")
def reference():
    return (np.load(os.path.join(EXAMPLE, "input_ids.npy")),
            np.load(os.path.join(EXAMPLE, "logits.npy")))


@pytest.fixture(scope="module")
def compiled():
    return llmc.compile(MODEL, target="host")


def test_gpt2_matches_torch(compiled, reference):
    ids, logits = reference
    outputs = compiled.run({"input_ids": ids})
    assert set(outputs) == {"logits"}
    assert outputs["logits"].dtype == np.float32
    np.testing.assert_allclose(outputs["logits"], logits, rtol=1e-4, atol=1e-5)


def test_compile_from_bytes_and_modelproto(reference):
    onnx = pytest.importorskip("onnx")
    ids, logits = reference
    with open(MODEL, "rb") as f:
        data = f.read()
    for source in (data, onnx.load(MODEL)):
        outputs = llmc.compile(source).run({"input_ids": ids})
        np.testing.assert_allclose(outputs["logits"], logits, rtol=1e-4, atol=1e-5)


def test_signature_and_report(compiled):
    signature = compiled.signature
    assert [t["name"] for t in signature["inputs"]] == ["input_ids"]
    assert signature["inputs"][0]["dtype"] == "i64"
    assert [t["name"] for t in signature["outputs"]] == ["logits"]
    host = compiled.report()["targets"]["host"]
    assert host["flops"] > 0 and host["weight_bytes"] > 0
    assert host["bytes"] >= host["weight_bytes"]


def test_mlir_stages(compiled):
    assert "llm.matmul" in compiled.mlir("import") or "llm.gemm" in compiled.mlir("import")
    assert "llm.weight" in compiled.mlir("graph")
    assert "llvm.func" in compiled.mlir("lowered")
    assert compiled.mlir("no-such-stage") == ""


def test_save_and_load(compiled, reference, tmp_path):
    ids, logits = reference
    compiled.save(str(tmp_path / "art"))
    assert (tmp_path / "art" / "manifest.json").exists()
    loaded = llmc.load(str(tmp_path / "art"))
    outputs = loaded.run({"input_ids": ids})
    np.testing.assert_allclose(outputs["logits"], logits, rtol=1e-4, atol=1e-5)


def test_not_onnx_raises():
    with pytest.raises(llmc.Error, match="not a valid ONNX model"):
        llmc.compile(b"this is not a model")


def test_missing_file_raises(tmp_path):
    with pytest.raises(llmc.Error, match="no-such.onnx"):
        llmc.compile(str(tmp_path / "no-such.onnx"))


def test_wrong_input_shape_raises(compiled):
    with pytest.raises(llmc.Error, match=r"input 'input_ids' has shape \[1,3\]"):
        compiled.run({"input_ids": np.zeros((1, 3), dtype=np.int64)})


def test_wrong_dtype_raises(compiled, reference):
    ids, _ = reference
    with pytest.raises(llmc.Error, match="dtype f32"):
        compiled.run({"input_ids": ids.astype(np.float32)})


def test_missing_input_raises(compiled):
    with pytest.raises(llmc.Error, match="missing input 'input_ids'"):
        compiled.run({})


def test_unknown_target_and_quant_raise():
    with pytest.raises(llmc.Error, match="unknown target 'tpu'"):
        llmc.compile(MODEL, target="tpu")
    with pytest.raises(llmc.Error, match="unknown quantization"):
        llmc.compile(MODEL, quant="int3")


def test_bad_model_type_raises():
    with pytest.raises(TypeError):
        llmc.compile(42)


def test_report_estimates_every_target(compiled):
    targets = compiled.report()["targets"]
    for name, hardware in (("ptx", "h100"), ("hls", "u280"), ("npu", "npu")):
        entry = targets[name]
        assert entry["target_desc"]["name"] == hardware
        for field in ("latency_s", "decode_latency_s", "tokens_per_s",
                      "energy_per_token_j", "weight_bytes"):
            assert entry[field] > 0, (name, field)


def test_target_desc(tmp_path):
    import json
    desc = json.load(open(os.path.join(ROOT, "targets", "h100.json")))
    desc["name"] = "h100-slow"
    desc["memory"]["bandwidth_bytes_per_s"] /= 10
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(desc))
    fast = llmc.compile(MODEL).report()["targets"]["ptx"]
    slow = llmc.compile(MODEL, target_desc=str(path)).report()["targets"]["ptx"]
    assert slow["target_desc"]["name"] == "h100-slow"
    assert slow["decode_latency_s"] > fast["decode_latency_s"]
    with pytest.raises(llmc.Error, match="no-such.json: cannot read target description"):
        llmc.compile(MODEL, target_desc=str(tmp_path / "no-such.json"))


def test_quantized_compile(reference, compiled):
    ids, _ = reference
    quantized = llmc.compile(MODEL, target="host", quant="w8")
    host = quantized.report()["targets"]["host"]
    assert host["quant"] == "w8"
    assert host["accuracy"]["cosine"] >= 0.99
    assert host["accuracy"]["top1_agreement"] >= 0.9
    fp32 = compiled.report()["targets"]["host"]["weight_bytes"]
    assert host["weight_bytes"] <= 0.3 * fp32
    fp32_logits = compiled.run({"input_ids": ids})["logits"]
    logits = quantized.run({"input_ids": ids})["logits"]
    assert (logits.argmax(-1) == fp32_logits.argmax(-1)).mean() >= 0.9
    # FP8 W8A8: the host runs the reference; the FPGA has no FP8 arithmetic.
    fp8 = llmc.compile(MODEL, target="host", quant="fp8",
                       quant_options={"activations": "dynamic"})
    accuracy = fp8.report()["targets"]["host"]["accuracy"]
    assert accuracy["cosine"] >= 0.99
    assert (fp8.run({"input_ids": ids})["logits"].argmax(-1) ==
            fp32_logits.argmax(-1)).mean() >= 0.9
    with pytest.raises(llmc.Error, match="has no fp8"):
        llmc.compile(MODEL, target="hls", quant="fp8")


def test_quantized_compile_with_calibration(tmp_path, reference):
    ids, _ = reference
    calib = tmp_path / "calib.npz"
    rng = np.random.default_rng(0)
    np.savez(calib, input_ids=np.stack([ids] + [rng.integers(0, 96, ids.shape)
                                                for _ in range(3)]))
    model = llmc.compile(MODEL, quant="int8", calib=calib,
                         quant_options={"activations": "dynamic"})
    accuracy = model.report()["targets"]["host"]["accuracy"]
    assert accuracy["inputs"] == "calibration" and accuracy["samples"] == 4
    assert accuracy["cosine"] >= 0.99
    with pytest.raises(llmc.Error, match="unknown quantization option"):
        llmc.compile(MODEL, quant="int8", quant_options={"bits": 3})


def test_gptq_weights(tmp_path, reference):
    """quant_options={"weights": "gptq"}: other integers than rtn's, the
    same accuracy report, act order unless {"gptq_act_order": False}; an
    unknown method is an llmc.Error."""
    ids, _ = reference
    calib = tmp_path / "calib.npz"
    rng = np.random.default_rng(0)
    np.savez(calib, input_ids=rng.integers(0, 96, (16,) + ids.shape))
    rtn = llmc.compile(MODEL, quant="w8", calib=calib)
    gptq = llmc.compile(MODEL, quant="w8", calib=calib,
                        quant_options={"weights": "gptq"})
    assert 'weights = "gptq"' in gptq.mlir("graph")
    assert 'weights = "gptq"' not in rtn.mlir("graph")
    assert not np.array_equal(rtn.run({"input_ids": ids})["logits"],
                              gptq.run({"input_ids": ids})["logits"])
    host = gptq.report()["targets"]["host"]
    assert host["accuracy"]["cosine"] >= 0.999
    assert host["quant_weights"] == "gptq" and host["gptq_order"] == "act"
    assert "gptq_order" not in rtn.report()["targets"]["host"]
    natural = llmc.compile(MODEL, quant="w8", calib=calib,
                           quant_options={"weights": "gptq", "gptq_act_order": False})
    assert 'gptq_order = "natural"' in natural.mlir("graph")
    assert natural.report()["targets"]["host"]["gptq_order"] == "natural"
    with pytest.raises(llmc.Error, match="--gptq-act-order needs --quant-weights gptq"):
        llmc.compile(MODEL, quant="w8", calib=calib, quant_options={"gptq_act_order": False})
    with pytest.raises(llmc.Error, match="unknown weight quantization 'obs'"):
        llmc.compile(MODEL, quant="w8", calib=calib,
                     quant_options={"weights": "obs"})


def test_hls_csim_matches_host(reference, tmp_path):
    """The hls target: the generated kernel runs as C-simulation (g++) and is
    bit-identical to the host; the report carries the schedule's estimates;
    the artifact holds the kernel and its testbench."""
    ids, logits = reference
    hls = llmc.compile(MODEL, target="hls")
    outputs = hls.run({"input_ids": ids})
    np.testing.assert_allclose(outputs["logits"], logits, rtol=1e-4, atol=1e-5)
    host = llmc.compile(MODEL, target="host").run({"input_ids": ids})
    np.testing.assert_array_equal(outputs["logits"], host["logits"])
    entry = hls.report()["targets"]["hls"]
    assert entry["hls_kernels"] and entry["hls_totals"]["fits"]
    assert entry["hls_latency_s"] > 0
    assert "affine.for" in hls.mlir("lowered")
    hls.save(str(tmp_path / "art"))
    kernel = (tmp_path / "art" / "kernel.cpp").read_text()
    assert "#pragma HLS PIPELINE II=1" in kernel
    assert (tmp_path / "art" / "testbench.cpp").exists()


def test_npu_matches_host_int8(reference, tmp_path):
    """The npu target: the W8A8 linear layers run as NPU instruction streams
    on the simulator; the logits are bit-identical to the host's int8
    reference, and stats() gives the simulated cycles per layer."""
    ids, logits = reference
    calib = tmp_path / "calib.npz"
    np.savez(calib, input_ids=ids[None])
    npu = llmc.compile(MODEL, target="npu", quant="int8", calib=calib)
    host = llmc.compile(MODEL, target="host", quant="int8", calib=calib)
    outputs = npu.run({"input_ids": ids})
    np.testing.assert_array_equal(outputs["logits"],
                                  host.run({"input_ids": ids})["logits"])
    stats = npu.stats()
    assert stats["kernels"] == len(stats["layers"]) == 9
    assert stats["cycles"] == sum(row["cycles"] for row in stats["layers"])
    assert 0 < stats["mac_utilization"] <= 1
    assert stats["offloaded_matmul_fraction"] > 0.95
    assert "npu.program" not in npu.mlir("lowered")
    npu.save(str(tmp_path / "art"))
    assert (tmp_path / "art" / "npu" / "npu_program_0.npubin").exists()
    with pytest.raises(llmc.Error, match="compile with --quant int8"):
        llmc.compile(MODEL, target="npu")


def test_compile_for_several_targets(reference, tmp_path):
    """A list of targets: one import and one calibration, a model per target,
    each the same as that target compiled alone."""
    ids, _ = reference
    calib = tmp_path / "calib.npz"
    np.savez(calib, input_ids=ids[None])
    models = llmc.compile(MODEL, target=["host", "npu", "hls"], quant="int8",
                          calib=calib)
    assert list(models) == ["host", "npu", "hls"]
    assert [m.target for m in models.values()] == ["host", "npu", "hls"]
    host = models["host"].run({"input_ids": ids})["logits"]
    alone = llmc.compile(MODEL, target="host", quant="int8", calib=calib)
    np.testing.assert_array_equal(host, alone.run({"input_ids": ids})["logits"])
    np.testing.assert_array_equal(models["npu"].run({"input_ids": ids})["logits"],
                                  host)
    accuracy = models["host"].report()["targets"]["host"]["accuracy"]
    assert accuracy == alone.report()["targets"]["host"]["accuracy"]
    assert accuracy == models["npu"].report()["targets"]["npu"]["accuracy"]
    # The models outlive each other: their shared context stays alive.
    npu = models.pop("npu")
    del models
    assert npu.run({"input_ids": ids})["logits"].shape == host.shape
    # "all" from bytes, and every target's settings checked before the
    # import.
    with open(MODEL, "rb") as f:
        data = f.read()
    fp32 = llmc.compile(data, target="all")
    assert list(fp32) == ["host", "ptx", "hls"]  # the npu needs int8
    with pytest.raises(llmc.Error, match="compile with --quant int8"):
        llmc.compile(MODEL, target=["host", "npu"])
    for bad in ([], ["host", "host"]):
        with pytest.raises(ValueError, match="distinct targets"):
            llmc.compile(MODEL, target=bad)


def test_ptx_on_the_gpu_emulator(reference, tmp_path):
    """The ptx target without a GPU: its kernels run on the GPU emulator and
    match torch within bf16 tolerance, from the model and from its saved
    artifact; stats() counts the tensor-core instructions and each kernel's
    launches (the second layer launches the first layer's kernels)."""
    ids, logits = reference
    ptx = llmc.compile(MODEL, target="ptx")
    outputs = ptx.run({"input_ids": ids}, emulate_gpu=True)
    np.testing.assert_allclose(outputs["logits"], logits, rtol=5e-2, atol=5e-2)
    stats = ptx.stats()
    assert stats["mma_sync"] > 0
    assert stats["launches"] == sum(k["launches"] for k in stats["kernels"])
    assert len(stats["kernels"]) < stats["launches"]
    ptx.save(str(tmp_path / "art"))
    loaded = llmc.load(str(tmp_path / "art"))
    np.testing.assert_array_equal(
        loaded.run({"input_ids": ids}, emulate_gpu=True)["logits"], outputs["logits"])
    host = llmc.compile(MODEL, target="host")
    with pytest.raises(ValueError, match="emulate_gpu runs the ptx target"):
        host.run({"input_ids": ids}, emulate_gpu=True)



def test_bfloat16_model_takes_and_gives_float32():
    """numpy has no bf16: a bf16 input takes a float32 array (rounded to
    nearest even) and a bf16 output comes back as its exact float32 widening."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "x"], ["y"])], "square",
        [helper.make_tensor_value_info("x", TensorProto.BFLOAT16, [4])],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    compiled = llmc.compile(model.SerializeToString())
    # 1 + 2^-8 is a tie between bf16 neighbours 1 and 1 + 2^-7: rounds to 1.
    x = np.array([1.5, -3.0, 1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8], np.float32)
    y = compiled.run({"x": x})["y"]
    assert y.dtype == np.float32
    # 1 + 3 * 2^-8 rounds to 1 + 2^-6 (even), whose square rounds to 1.03125.
    np.testing.assert_array_equal(y, [2.25, 9.0, 1.0, 1.03125])


def test_values_fix_an_input_for_an_if(tmp_path):
    """values= fixes an input at compile time (llm-compile's --value): an If
    on it imports the branch it names, and the compiled model, saved and
    loaded too, refuses another value of it."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    double = helper.make_graph([helper.make_node("Add", ["x", "x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [3])])
    negate = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [3])])
    graph = helper.make_graph(
        [helper.make_node("If", ["flag"], ["y"], then_branch=double, else_branch=negate)],
        "branch", [helper.make_tensor_value_info("flag", TensorProto.BOOL, [1]),
                   helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = np.array([1.0, -2.0, 0.5], np.float32)
    with pytest.raises(llmc.Error, match="must be a compile-time constant"):
        llmc.compile(model)
    for flag, expected in ((True, 2 * x), (False, -x)):
        compiled = llmc.compile(model, values={"flag": flag})
        np.testing.assert_array_equal(compiled.run({"flag": np.array([flag]), "x": x})["y"],
                                      expected)
        compiled.save(str(tmp_path / str(flag)))
        loaded = llmc.load(str(tmp_path / str(flag)))
        with pytest.raises(llmc.Error, match="was fixed to"):
            loaded.run({"flag": np.array([not flag]), "x": x})


def test_run_specializes_to_its_inputs(tmp_path):
    """llmc.run compiles for the inputs it is given, as llm-run --input
    does: a Reshape's shape given as a graph input is taken from its value,
    and a dynamic dim from the input's shape, so the same model runs on
    other shapes and values in later calls."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]),
         helper.make_node("Softmax", ["r"], ["y"], axis=-1)],
        "reshape", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"]),
                    helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = str(tmp_path / "reshape.onnx")
    onnx.save(model, path)
    with pytest.raises(llmc.Error):  # the shape is not known without its value
        llmc.compile(path, shapes={"x": [12]})
    x = np.arange(12, dtype=np.float32) / 4
    for shape in ((3, 4), (2, 6), (6, 2)):
        rows = x.reshape(shape)
        want = np.exp(rows - rows.max(-1, keepdims=True))
        want /= want.sum(-1, keepdims=True)
        got = llmc.run(path, {"x": x, "shape": np.array(shape, np.int64)})
        assert got["y"].shape == shape
        np.testing.assert_allclose(got["y"], want, rtol=1e-5, atol=1e-6)
    y = llmc.run(model, {"x": x[:8], "shape": np.array([2, 4], np.int64)}, target="ptx",
                 emulate_gpu=True)["y"]
    assert y.shape == (2, 4)
    with pytest.raises(ValueError, match="emulate_gpu"):
        llmc.run(path, {"x": x, "shape": np.array([3, 4])}, emulate_gpu=True)
    with pytest.raises(llmc.Error, match="unknown target|target"):
        llmc.run(path, {"x": x, "shape": np.array([3, 4])}, target="tpu")


def test_read_tensor_and_compare(tmp_path, reference):
    """read_tensor reads .npy and TensorProto files as llm-run's --input
    does; compare is --expect's check: None within tolerance, else the
    worst mismatch in one line."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper
    ids, logits = reference
    np.testing.assert_array_equal(
        llmc.read_tensor(os.path.join(EXAMPLE, "input_ids.npy")), ids)
    proto = tmp_path / "logits.pb"
    proto.write_bytes(numpy_helper.from_array(logits, "logits").SerializeToString())
    np.testing.assert_array_equal(llmc.read_tensor(str(proto)), logits)
    assert llmc.compare(logits, logits, 0.0, 0.0) is None
    off = logits.copy()
    off[0, 1, 2] += 1e-3
    assert llmc.compare(off, logits, 1e-4, 1e-5, "logits").startswith(
        "output 'logits': 1 of")
    assert llmc.compare(off, logits, 0.0, 2e-3) is None
    assert "shape" in llmc.compare(logits[:, :1], logits)
    nan = np.array([np.nan, 1.0], np.float32)
    assert llmc.compare(nan, nan) is None
    with pytest.raises(llmc.Error):
        llmc.read_tensor(str(tmp_path / "missing.npy"))
    (tmp_path / "bad.npy").write_bytes(b"not a tensor")
    with pytest.raises(llmc.Error):
        llmc.read_tensor(str(tmp_path / "bad.npy"))


def _threaded_product(seed):
    """A 64x256x256 MatMul model (enough work for the threads), an input and
    numpy's product."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((256, 256)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "product",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 256])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    x = rng.standard_normal((64, 256)).astype(np.float32)
    return model, x, x.astype(np.float64) @ w.astype(np.float64)


def test_threaded_models_compiled_and_freed(monkeypatch):
    """The heavy loops run on the async runtime's threads (4 here, whatever
    the machine has); freeing a model right after its run must not unmap
    code a worker still returns through (this crashed within a few dozen
    rounds)."""
    monkeypatch.setenv("LLMC_HOST_THREADS", "4")
    monkeypatch.setenv("LLMC_CPU_OPT_LEVEL", "0")
    model, x, expected = _threaded_product(0)
    assert "mlirAsyncRuntimeExecute" in llmc.compile(model).mlir("lowered")
    for _ in range(60):
        compiled = llmc.compile(model)
        y = compiled.run({"x": x})["y"]
        del compiled
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def _two_layer_mlp(seed, hidden):
    """x [64, 256] -> MatMul -> Relu -> MatMul, whose intermediates (64 x
    hidden floats) are large enough for the host runtime to keep their
    buffers between runs; returns the model and a function computing it as
    the host's register tiles do (each output summed over k in order, a
    float32 multiply then a float32 add)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((256, hidden)).astype(np.float32)
    w2 = rng.standard_normal((hidden, 256)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"]),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("MatMul", ["r", "w2"], ["y"])], "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 256])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()

    def ordered_product(a, b):
        out = np.zeros((a.shape[0], b.shape[1]), np.float32)
        for k in range(a.shape[1]):
            out = out + a[:, k:k + 1] * b[k]
        return out

    def forward(x):
        return ordered_product(np.maximum(ordered_product(x, w1), 0), w2)
    return model, forward


def test_buffers_reused_across_runs_and_models():
    """The host runtime keeps freed buffers for the next run (of any model):
    a reused buffer's old contents must not leak into a result. Runs of two
    models with distinct inputs, interleaved, each give the product computed
    in the same order, bit for bit."""
    rng = np.random.default_rng(7)
    models = []
    for seed, hidden in ((0, 512), (1, 384)):
        model, forward = _two_layer_mlp(seed, hidden)
        models.append((llmc.compile(model), forward))
    inputs = [rng.standard_normal((64, 256)).astype(np.float32) for _ in range(3)]
    for round_ in range(2):
        for compiled, forward in models:
            for x in inputs:
                y = compiled.run({"x": x})["y"]
                np.testing.assert_array_equal(y, forward(x))


def test_forked_process_after_threaded_run(monkeypatch):
    """A process forked after a threaded run has the async runtime's pool
    but not its threads (a fork copies only the calling thread): a model it
    compiles is serial and runs, and the parent's threaded model fails with
    one clear error instead of waiting forever for work no thread takes."""
    monkeypatch.setenv("LLMC_HOST_THREADS", "2")
    monkeypatch.setenv("LLMC_CPU_OPT_LEVEL", "0")
    model, x, expected = _threaded_product(1)
    threaded = llmc.compile(model)
    assert "mlirAsyncRuntimeExecute" in threaded.mlir("lowered")
    np.testing.assert_allclose(threaded.run({"x": x})["y"], expected, rtol=1e-4, atol=1e-4)

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports one line and leaves without pytest's teardown
        os.close(read)
        try:
            try:
                threaded.run({"x": x})
                line = "parent's threaded model ran"
            except llmc.Error as error:
                line = "error: " + str(error)
            own = llmc.compile(model)
            serial = "mlirAsyncRuntimeExecute" not in own.mlir("lowered")
            close = np.allclose(own.run({"x": x})["y"], expected, rtol=1e-4, atol=1e-4)
            line += f"\nserial={serial} close={close}\n"
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            line = f"child failed: {error!r}\n"
        os.write(write, line.encode())
        os._exit(0)
    os.close(write)
    for _ in range(600):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked process hung")
    with os.fdopen(read) as reader:
        report = reader.read()
    assert "error: " in report and "forked from process" in report, report
    assert "serial=True close=True" in report, report
