#!/usr/bin/env python3
"""ONNX control flow and sequences (If, Loop, Scan, SequenceEmpty/Construct/
Insert/Erase/At/Length, SplitToSequence, ConcatFromSequence) through
llm-run, against numpy.

    control-flow-cases.py run DIR TARGET [TARGET ...]
        builds the cases, runs each on each target and compares with numpy;
        prints one line per mismatch and `control-flow: N cases x M targets,
        F failed`; exits 1 if one failed.
    control-flow-cases.py errors DIR
        writes the models the importer must reject (ERROR.onnx).

The importer resolves control flow at compile time: an If takes the branch
its constant condition names (a shape comparison, a graph input whose value
llm-run is given), a Loop unrolls (a trip count from a shape, a condition
computed from the iteration number), and a sequence is a list of values.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def tensor(name, elem, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def sequence(name, elem, shape):
    return helper.make_value_info(
        name, helper.make_sequence_type_proto(helper.make_tensor_type_proto(elem, shape)))


def const(name, array):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(
        np.asarray(array), name))


def model(nodes, inputs, outputs, name="cf", opset=17):
    graph = helper.make_graph(nodes, name, inputs, outputs)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if opset < 9:
        m.ir_version = 3
    return m


def scan_axes(rng):
    """A Scan with a state, a scan input along axis 0 and a reversed one
    along axis 1, and scan outputs stacked along axis 0 and, reversed, along
    axis 1: s += a_t * b_t, out = s, diff = a_t - b_t."""
    s0 = rng.standard_normal(3).astype(np.float32)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    body = helper.make_graph(
        [helper.make_node("Mul", ["a_t", "b_t"], ["prod"]),
         helper.make_node("Add", ["s_in", "prod"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["out_t"]),
         helper.make_node("Sub", ["a_t", "b_t"], ["diff_t"])],
        "step", [tensor("s_in", F, [3]), tensor("a_t", F, [3]), tensor("b_t", F, [3])],
        [tensor("s_out", F, [3]), tensor("out_t", F, [3]), tensor("diff_t", F, [3])])
    nodes = [helper.make_node("Scan", ["s0", "a", "b"], ["s", "out", "diff"], body=body,
                              num_scan_inputs=2, scan_input_axes=[0, -1],
                              scan_input_directions=[0, 1], scan_output_axes=[0, 1],
                              scan_output_directions=[0, 1])]
    m = model(nodes, [tensor("s0", F, [3]), tensor("a", F, [4, 3]), tensor("b", F, [3, 4])],
              [tensor("s", F, None), tensor("out", F, None), tensor("diff", F, None)])
    state, outs, diffs = s0.copy(), [], []
    for t in range(4):
        b_t = b[:, 3 - t]
        state = state + a[t] * b_t
        outs.append(state)
        diffs.append(a[t] - b_t)
    return m, {"s0": s0, "a": a, "b": b}, \
        {"s": state, "out": np.stack(outs), "diff": np.stack(diffs[::-1], 1)}


def scan_batched(rng):
    """Opset 8's Scan: a batch axis on every operand and result, the
    sequence along axis 1, scanned in reverse (directions); no
    sequence_lens. s = 0.5 s + x_t per batch row."""
    s0 = rng.standard_normal((2, 3)).astype(np.float32)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    body = helper.make_graph(
        [const("half", np.float32(0.5)),
         helper.make_node("Mul", ["s_in", "half"], ["decayed"]),
         helper.make_node("Add", ["decayed", "x_t"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["y_t"])],
        "step", [tensor("s_in", F, [3]), tensor("x_t", F, [3])],
        [tensor("s_out", F, [3]), tensor("y_t", F, [3])])
    nodes = [helper.make_node("Scan", ["", "s0", "x"], ["s", "y"], body=body,
                              num_scan_inputs=1, directions=[1])]
    m = model(nodes, [tensor("s0", F, [2, 3]), tensor("x", F, [2, 4, 3])],
              [tensor("s", F, [2, 3]), tensor("y", F, [2, 4, 3])], opset=8)
    state, ys = s0.copy(), []
    for t in range(4):
        state = 0.5 * state + x[:, 3 - t]
        ys.append(state)
    return m, {"s0": s0, "x": x}, {"s": state, "y": np.stack(ys, 1)}


def loop_scan(rng):
    """A Loop over the rows of x (trip count from its shape): a running sum
    carried, each sum appended to a carried sequence, each row doubled as a
    scan output; the sequence stacked afterwards."""
    x = rng.standard_normal((5, 3)).astype(np.float32)
    body = helper.make_graph(
        [helper.make_node("Gather", ["x", "i"], ["row"], axis=0),
         helper.make_node("Add", ["acc_in", "row"], ["acc_out"]),
         helper.make_node("SequenceInsert", ["seq_in", "acc_out"], ["seq_out"]),
         helper.make_node("Add", ["row", "row"], ["doubled"]),
         helper.make_node("Identity", ["c"], ["c_out"])],
        "step",
        [tensor("i", I64, []), tensor("c", B, []), tensor("acc_in", F, [3]),
         sequence("seq_in", F, [3])],
        [tensor("c_out", B, []), tensor("acc_out", F, [3]), sequence("seq_out", F, [3]),
         tensor("doubled", F, [3])])
    nodes = [
        const("zero", np.zeros(3, np.float32)),
        helper.make_node("Shape", ["x"], ["shape"]),
        const("first", np.array(0, np.int64)),
        helper.make_node("Gather", ["shape", "first"], ["count"], axis=0),
        const("go", np.array(True)),
        helper.make_node("SequenceEmpty", [], ["empty"], dtype=F),
        helper.make_node("Loop", ["count", "go", "zero", "empty"], ["acc", "seq", "scan"],
                         body=body),
        helper.make_node("ConcatFromSequence", ["seq"], ["sums"], axis=0, new_axis=1),
    ]
    m = model(nodes, [tensor("x", F, [5, 3])],
              [tensor("acc", F, None), tensor("scan", F, None), tensor("sums", F, None)])
    return m, {"x": x}, {"acc": x.sum(0), "scan": 2 * x, "sums": np.cumsum(x, 0)}


def loop_condition(rng):
    """A Loop with no trip count that ends when its condition, computed from
    the iteration number, turns false (after 3 iterations): y = 2 y + x."""
    x = rng.standard_normal((2, 4)).astype(np.float32)
    body = helper.make_graph(
        [const("one", np.array(1, np.int64)), const("three", np.array(3, np.int64)),
         helper.make_node("Add", ["i", "one"], ["next"]),
         helper.make_node("Less", ["next", "three"], ["c_out"]),
         helper.make_node("Add", ["y_in", "y_in"], ["twice"]),
         helper.make_node("Add", ["twice", "x"], ["y_out"])],
        "step",
        [tensor("i", I64, []), tensor("c", B, []), tensor("y_in", F, [2, 4])],
        [tensor("c_out", B, []), tensor("y_out", F, [2, 4])])
    nodes = [const("go", np.array(True)),
             helper.make_node("Loop", ["", "go", "x"], ["y"], body=body)]
    m = model(nodes, [tensor("x", F, [2, 4])], [tensor("y", F, None)])
    y = x.copy()
    for _ in range(3):
        y = 2 * y + x
    return m, {"x": x}, {"y": y}


def if_on_shape(rng, rows):
    """An If on whether x has more than 8 elements: its branches read x from
    the enclosing graph."""
    x = rng.standard_normal((rows, 4)).astype(np.float32)
    then = helper.make_graph([helper.make_node("Mul", ["x", "x"], ["t"])], "then", [],
                             [tensor("t", F, None)])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                              [tensor("e", F, None)])
    nodes = [helper.make_node("Size", ["x"], ["n"]), const("eight", np.array(8, np.int64)),
             helper.make_node("Greater", ["n", "eight"], ["big"]),
             helper.make_node("If", ["big"], ["y"], then_branch=then, else_branch=other)]
    m = model(nodes, [tensor("x", F, [rows, 4])], [tensor("y", F, None)])
    return m, {"x": x}, {"y": x * x if x.size > 8 else -x}


def if_on_input(rng, flag):
    """An If on a bool graph input, as in a merged decoder's use_cache_branch:
    llm-run is given its value."""
    x = rng.standard_normal((3, 2)).astype(np.float32)
    then = helper.make_graph(
        [const("two", np.float32(2)), helper.make_node("Mul", ["x", "two"], ["t"])],
        "then", [], [tensor("t", F, None)])
    other = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["e"])], "else", [],
                              [tensor("e", F, None)])
    nodes = [helper.make_node("If", ["flag"], ["y"], then_branch=then, else_branch=other)]
    m = model(nodes, [tensor("flag", B, []), tensor("x", F, [3, 2])], [tensor("y", F, None)])
    expected = 2 * x if flag else 1 / (1 + np.exp(-x))
    return m, {"flag": np.array(flag), "x": x}, {"y": expected}


def sequences(rng):
    """SplitToSequence in its three forms, then SequenceAt (a negative
    position), SequenceLength, SequenceInsert at the front, SequenceErase,
    SequenceConstruct and ConcatFromSequence."""
    x = rng.standard_normal((6, 4)).astype(np.float32)
    nodes = [
        # Columns, squeezed: 4 tensors of [6]; the last one, times the count.
        helper.make_node("SplitToSequence", ["x"], ["cols"], axis=1, keepdims=0),
        const("last", np.array(-1, np.int64)),
        helper.make_node("SequenceAt", ["cols", "last"], ["col"]),
        helper.make_node("SequenceLength", ["cols"], ["count"]),
        helper.make_node("Cast", ["count"], ["countf"], to=F),
        helper.make_node("Mul", ["col", "countf"], ["scaled"]),
        # Chunks of 4 rows: [4, 4] and [2, 4]; the second one.
        const("four", np.array(4, np.int64)),
        helper.make_node("SplitToSequence", ["x", "four"], ["chunks"], axis=0),
        const("one", np.array(1, np.int64)),
        helper.make_node("SequenceAt", ["chunks", "one"], ["tail"]),
        # Sizes [1, 2, 3]: moved to the front in reverse, the middle erased.
        const("sizes", np.array([1, 2, 3], np.int64)),
        helper.make_node("SplitToSequence", ["x", "sizes"], ["parts"], axis=0),
        const("zero", np.array(0, np.int64)),
        helper.make_node("SequenceAt", ["parts", "zero"], ["p0"]),
        helper.make_node("SequenceAt", ["parts", "one"], ["p1"]),
        const("two", np.array(2, np.int64)),
        helper.make_node("SequenceAt", ["parts", "two"], ["p2"]),
        helper.make_node("SequenceConstruct", ["p0"], ["s0"]),
        helper.make_node("SequenceInsert", ["s0", "p1", "zero"], ["s1"]),
        helper.make_node("SequenceInsert", ["s1", "p2", "zero"], ["s2"]),
        helper.make_node("SequenceErase", ["s2", "one"], ["s3"]),
        helper.make_node("ConcatFromSequence", ["s3"], ["joined"], axis=0),
    ]
    m = model(nodes, [tensor("x", F, [6, 4])],
              [tensor("scaled", F, None), tensor("tail", F, None), tensor("joined", F, None)])
    return m, {"x": x}, {"scaled": x[:, -1] * 4, "tail": x[4:],
                         "joined": np.concatenate([x[3:], x[:1]])}


def range_loop(rng):
    """ONNX's own function body of Range: a Loop whose trip count is
    Cast(Relu(Ceil((limit - start) / delta))) of float inputs whose values
    llm-run is given; each iteration adds delta and scans the previous
    value."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]),
         helper.make_node("Add", ["prev", "delta"], ["current"]),
         helper.make_node("Identity", ["prev"], ["range"])],
        "step",
        [tensor("i", I64, []), tensor("cond", B, []), tensor("prev", F, [])],
        [tensor("cond_out", B, []), tensor("current", F, []), tensor("range", F, [])])
    nodes = [helper.make_node("Sub", ["limit", "start"], ["span"]),
             helper.make_node("Div", ["span", "delta"], ["steps"]),
             helper.make_node("Ceil", ["steps"], ["ceiled"]),
             helper.make_node("Relu", ["ceiled"], ["count"]),
             helper.make_node("Cast", ["count"], ["trips"], to=I64),
             helper.make_node("Cast", ["count"], ["go"], to=B),
             helper.make_node("Loop", ["trips", "go", "start"], ["last", "output"],
                              body=body)]
    m = model(nodes, [tensor("start", F, []), tensor("limit", F, []), tensor("delta", F, [])],
              [tensor("output", F, None)])
    start, limit, delta = np.float32(1.5), np.float32(4.25), np.float32(0.5)
    return m, {"start": start, "limit": limit, "delta": delta}, \
        {"output": np.arange(start, limit, delta, dtype=np.float32)}


def torch_scripted(rng):
    """torch.onnx's export of TorchScript control flow: a `for` over a
    dynamic dim (its trip count Ceil of a float division) appending to a
    list, and an `if` on a shape."""
    import torch

    @torch.jit.script
    def decay_scan(x: torch.Tensor) -> torch.Tensor:
        acc = x[0]
        out = [acc]
        for i in range(1, x.size(0)):
            acc = acc * 0.5 + x[i]
            out.append(acc)
        return torch.stack(out, 0)

    @torch.jit.script
    def pick(x: torch.Tensor) -> torch.Tensor:
        if x.size(1) > 4:
            return x[:, :4] * 2.0
        return x - 1.0

    class Scripted(torch.nn.Module):
        def forward(self, x):
            return decay_scan(x) + 1.0, pick(x)

    x = torch.from_numpy(rng.standard_normal((6, 5)).astype(np.float32))
    import io
    buffer = io.BytesIO()
    torch.onnx.export(Scripted(), (x,), buffer, opset_version=17, input_names=["x"],
                      output_names=["s", "p"], dynamic_axes={"x": {0: "t"}})
    s, p = Scripted()(x)
    return onnx.load_from_string(buffer.getvalue()), {"x": x.numpy()}, \
        {"s": s.numpy(), "p": p.numpy()}


def cases(with_torch):
    rng = np.random.default_rng(3)
    made = {"loop_scan": loop_scan(rng), "loop_condition": loop_condition(rng),
            "if_shape_true": if_on_shape(rng, 3), "if_shape_false": if_on_shape(rng, 2),
            "if_input_true": if_on_input(rng, True),
            "if_input_false": if_on_input(rng, False), "sequences": sequences(rng),
            "range_loop": range_loop(rng), "scan_axes": scan_axes(rng),
            "scan_batched": scan_batched(rng)}
    if with_torch:
        made["torch_scripted"] = torch_scripted(rng)
    return made


def run(folder, targets, with_torch):
    os.makedirs(folder, exist_ok=True)
    failed = 0
    made = cases(with_torch)
    for name, (m, inputs, expected) in made.items():
        base = os.path.join(folder, name)
        onnx.save(m, base + ".onnx")
        command = []
        for key, array in inputs.items():
            np.save(f"{base}-{key}.npy", array)
            command += ["--input", f"{key}={base}-{key}.npy"]
        for target in targets:
            out = f"{base}-{target}"
            full = ["llm-run", base + ".onnx", "--target", target, "--output-dir", out] + command
            if target == "ptx":
                full.append("--emulate-gpu")
            result = subprocess.run(full, capture_output=True, text=True)
            if result.returncode:
                print(f"{name} {target}: {result.stderr.strip()[-300:]}")
                failed += 1
                continue
            for key, want in expected.items():
                got = np.load(os.path.join(out, key + ".npy"))
                if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-4):
                    print(f"{name} {target}: output {key} differs (shape {got.shape}, "
                          f"expected {want.shape})")
                    failed += 1
    print(f"control-flow: {len(made)} cases x {len(targets)} targets, {failed} failed")
    return 1 if failed else 0


def errors(folder):
    """Models the importer rejects, each with one line naming the node."""
    os.makedirs(folder, exist_ok=True)
    x = tensor("x", F, [2, 3])

    def save(name, nodes, inputs, outputs):
        graph = helper.make_graph(nodes, name, inputs, outputs)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                  os.path.join(folder, name + ".onnx"))

    identity = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "b", [],
                                 [tensor("t", F, None)])
    # The condition is a graph input whose value is not given.
    save("if-input", [helper.make_node("If", ["flag"], ["y"], then_branch=identity,
                                       else_branch=identity)],
         [tensor("flag", B, []), x], [tensor("y", F, None)])
    # A trip count over the unrolling limit.
    counting = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]),
         helper.make_node("Add", ["y_in", "x"], ["y_out"])], "step",
        [tensor("i", I64, []), tensor("c", B, []), tensor("y_in", F, [2, 3])],
        [tensor("c_out", B, []), tensor("y_out", F, [2, 3])])
    save("loop-long", [const("m", np.array(5000, np.int64)),
                       helper.make_node("Loop", ["m", "", "x"], ["y"], body=counting)],
         [x], [tensor("y", F, None)])
    # A condition computed from the data.
    data_cond = helper.make_graph(
        [helper.make_node("ReduceSum", ["y_in"], ["total"], keepdims=0),
         const("zero", np.float32(0)),
         helper.make_node("Less", ["total", "zero"], ["c_out"]),
         helper.make_node("Add", ["y_in", "y_in"], ["y_out"])], "step",
        [tensor("i", I64, []), tensor("c", B, []), tensor("y_in", F, [2, 3])],
        [tensor("c_out", B, []), tensor("y_out", F, [2, 3])])
    save("loop-data-cond", [const("go", np.array(True)),
                            helper.make_node("Loop", ["", "go", "x"], ["y"], body=data_cond)],
         [x], [tensor("y", F, None)])
    # Neither a trip count nor a condition.
    save("loop-forever", [helper.make_node("Loop", ["", "", "x"], ["y"], body=counting)],
         [x], [tensor("y", F, None)])
    # A sequence where a tensor is expected, and as a graph output.
    save("sequence-operand", [helper.make_node("SequenceConstruct", ["x"], ["s"]),
                              helper.make_node("Add", ["s", "x"], ["y"])],
         [x], [tensor("y", F, None)])
    save("sequence-output", [helper.make_node("SplitToSequence", ["x"], ["s"], axis=1)],
         [x], [sequence("s", F, [2, 1])])
    # A position past the end.
    save("sequence-position", [helper.make_node("SplitToSequence", ["x"], ["s"], axis=0),
                               const("five", np.array(5, np.int64)),
                               helper.make_node("SequenceAt", ["s", "five"], ["y"])],
         [x], [tensor("y", F, None)])
    # Scan inputs of different lengths; opset 8's sequence_lens shorter than
    # the sequence.
    adding = helper.make_graph(
        [helper.make_node("Add", ["p", "q"], ["r"])], "step",
        [tensor("p", F, [3]), tensor("q", F, [3])], [tensor("r", F, [3])])
    save("scan-lengths", [helper.make_node("Scan", ["x", "z"], ["y"], body=adding,
                                           num_scan_inputs=2)],
         [tensor("x", F, [2, 3]), tensor("z", F, [4, 3])], [tensor("y", F, None)])
    accumulate = helper.make_graph(
        [helper.make_node("Add", ["s_in", "x_t"], ["s_out"])], "step",
        [tensor("s_in", F, [3]), tensor("x_t", F, [3])], [tensor("s_out", F, [3])])
    short = helper.make_graph(
        [const("lens", np.array([4, 2], np.int64)),
         helper.make_node("Scan", ["lens", "s0", "x"], ["s"], body=accumulate,
                          num_scan_inputs=1)],
        "scan-lens", [tensor("s0", F, [2, 3]), tensor("x", F, [2, 4, 3])],
        [tensor("s", F, [2, 3])])
    old = helper.make_model(short, opset_imports=[helper.make_opsetid("", 8)])
    old.ir_version = 3
    onnx.save(old, os.path.join(folder, "scan-lens.onnx"))
    # A failing node inside a body names both nodes.
    bad_body = helper.make_graph([helper.make_node("RoiAlign", ["x", "x"], ["t"])], "b", [],
                                 [tensor("t", F, None)])
    save("if-body-error", [const("yes", np.array(True)),
                           helper.make_node("If", ["yes"], ["y"], then_branch=bad_body,
                                            else_branch=identity, name="branch")],
         [x], [tensor("y", F, None)])
    return 0


def main():
    command, folder = sys.argv[1], sys.argv[2]
    if command == "errors":
        return errors(folder)
    targets = [t for t in sys.argv[3:] if t != "--torch"]
    return run(folder, targets, "--torch" in sys.argv[3:])


if __name__ == "__main__":
    sys.exit(main())
