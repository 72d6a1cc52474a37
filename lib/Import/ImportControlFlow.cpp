//===- ImportControlFlow.cpp - ONNX import of control flow ----------------===//
//
// Control flow (If, Loop, Scan, the recurrent ops) and sequences.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

//===----------------------------------------------------------------------===//
// Control flow and sequences
//
// Exported graphs use If, Loop and sequences for what the exporter could not
// resolve while tracing (torch's repeat_interleave with dynamic dims, a
// branch on a flag input); once the input shapes are specialized their
// conditions and trip counts are compile-time constants. If imports the
// branch its condition names, Loop unrolls its body, and a sequence is a
// list of values the importer keeps.
//===----------------------------------------------------------------------===//

FailureOr<ONNXImporter::Item> ONNXImporter::lookupItem(StringRef name) {
  Item item;
  if (Value value = values.lookup(name)) {
    item.tensor = value;
    return item;
  }
  auto it = sequences.find(name);
  if (it == sequences.end())
    return error("'" + name + "' is not defined by an earlier node, an "
                 "initializer or an input");
  item.isSequence = true;
  item.sequence = it->second;
  return item;
}

void ONNXImporter::bindItem(StringRef name, const Item &item) {
  if (item.isSequence) {
    values.erase(name);
    sequences[name] = item.sequence;
  } else {
    sequences.erase(name);
    values[name] = item.tensor;
  }
}

LogicalResult ONNXImporter::setItemResult(const Item &item) {
  if (item.isSequence) {
    unsigned index = results.size();
    if (index < static_cast<unsigned>(node->output_size()) &&
        !node->output(index).empty())
      sequences[node->output(index)] = item.sequence;
  }
  results.push_back(item.isSequence ? Value() : item.tensor);
  return success();
}

/// Imports the graph in attribute `attrName` of the current node (an If
/// branch, a Loop body) into the current block, its inputs bound to
/// `bindings`; its nodes also read names of the enclosing graphs. Returns
/// its outputs; the current node is the If or Loop again afterwards. Import
/// moves tensor data out of the protobuf: a body imported `again` (a Loop's)
/// is imported from a copy.
FailureOr<SmallVector<ONNXImporter::Item>>
ONNXImporter::importBody(StringRef attrName, ArrayRef<Item> bindings,
                         bool again) {
  onnx::GraphProto *body = nullptr;
  for (onnx::AttributeProto &attr : *node->mutable_attribute())
    if (attr.name() == attrName && attr.has_g())
      body = attr.mutable_g();
  if (!body)
    return error("expects graph attribute '" + attrName + "'");
  onnx::GraphProto copy;
  if (again) {
    copy = *body;
    body = &copy;
  }
  if (body->input_size() != static_cast<int>(bindings.size()))
    return error("'" + attrName + "' takes " + Twine(body->input_size()) +
                 " inputs, expects " + Twine(bindings.size()));
  onnx::NodeProto *outer = node;
  Location outerLoc = nodeLoc;
  SmallVector<Value> outerInputs = inputs, outerResults = results;
  llvm::scope_exit restore([&] {
    node = outer;
    nodeLoc = outerLoc;
    inputs = outerInputs;
    results = outerResults;
  });
  for (auto [bodyInput, item] : llvm::zip_equal(body->input(), bindings))
    bindItem(bodyInput.name(), item);
  if (failed(importInitializers(*body)))
    return failure();
  for (auto [index, bodyNode] : llvm::enumerate(*body->mutable_node()))
    if (failed(importNode(bodyNode, index)))
      return failure();
  SmallVector<Item> outputs;
  for (const onnx::ValueInfoProto &output : body->output()) {
    FailureOr<Item> item = lookupItem(output.name());
    if (failed(item))
      return error("'" + attrName + "' output " + Twine(output.name()) +
                   " is not produced by its nodes");
    if (failed(requireKnownCount(output.name(), "'" + attrName + "' output '" +
                                                    output.name() + "'")))
      return failure();
    outputs.push_back(*item);
  }
  return outputs;
}

LogicalResult ONNXImporter::importIf() {
  if (failed(requireInputs(1)))
    return failure();
  std::optional<SmallVector<int64_t>> cond = compileTimeInts(input(0));
  if (!cond || cond->size() != 1)
    return error("input 'cond' must be a compile-time constant (fix a graph "
                 "input's value with llm-compile --value NAME=V; llm-run "
                 "knows the values it is given)");
  FailureOr<SmallVector<Item>> outputs =
      importBody(cond->front() ? "then_branch" : "else_branch", {});
  if (failed(outputs))
    return failure();
  if (outputs->size() != static_cast<size_t>(node->output_size()))
    return error("the branch has " + Twine(outputs->size()) +
                 " outputs, the node " + Twine(node->output_size()));
  for (const Item &item : *outputs)
    (void)setItemResult(item);
  return success();
}

/// RNN, GRU and LSTM, unrolled over their static sequence. Each direction
/// multiplies every step's input by W in one matmul (bias added), then runs
/// the recurrence: per step one matmul of the state by R and the gates'
/// elementwise ops (ONNX's equations: LSTM's gates i, o, f, c with
/// peepholes P; GRU's z, r, h with linear_before_reset; clip bounds every
/// gate's input). With sequence_lens (known at run time), a batch row's
/// steps from its length on keep its state and output zeros; the reverse
/// direction walks the steps from the last, so a row's recurrence starts at
/// its own last step. Outputs: Y [S, directions, B, H] (layout 1: [B, S,
/// directions, H]), Y_h and LSTM's Y_c [directions, B, H] (layout 1: [B,
/// directions, H]).
LogicalResult ONNXImporter::importRecurrent() {
  StringRef op = node->op_type();
  bool lstm = op == "LSTM", gru = op == "GRU";
  int64_t gates = lstm ? 4 : gru ? 3 : 1;
  if (failed(requireInputs(3)))
    return failure();
  Value x = input(0), w = input(1), r = input(2), b = input(3), lens = input(4),
        h0 = input(5);
  Value c0 = lstm ? input(6) : Value(), p = lstm ? input(7) : Value();
  RankedTensorType xType = typeOf(x);
  Type element = xType.getElementType();
  if (xType.getRank() != 3 || !isa<FloatType>(element))
    return error("expects a float X of rank 3, got " +
                 shapeString(xType.getShape()));
  int64_t layout = getInt("layout", 0);
  if (layout != 0 && layout != 1)
    return error("layout " + Twine(layout) + " is not 0 or 1");
  if (layout)
    x = transposed(x, {1, 0, 2});
  if (!x)
    return failure();
  int64_t seq = typeOf(x).getDimSize(0), batch = typeOf(x).getDimSize(1),
          inputSize = typeOf(x).getDimSize(2);
  std::string direction = getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" &&
      direction != "bidirectional")
    return error("direction '" + direction +
                 "' is not forward, reverse or bidirectional");
  int64_t directions = direction == "bidirectional" ? 2 : 1;
  ArrayRef<int64_t> rShape = typeOf(r).getShape();
  int64_t hidden = getInt("hidden_size", rShape.size() == 3 ? rShape[2] : 0);
  if (getInt("input_forget", 0))
    return error("input_forget is not supported");

  // Every operand's shape, as ONNX gives it.
  auto expect = [&](Value value, StringRef name,
                    ArrayRef<int64_t> shape) -> LogicalResult {
    if (!value)
      return success();
    RankedTensorType type = typeOf(value);
    if (type.getShape() != shape)
      return error("expects " + name + " of shape " + shapeString(shape) +
                   ", got " + shapeString(type.getShape()));
    if (type.getElementType() != element)
      return error("expects " + name + " of X's element type");
    return success();
  };
  SmallVector<int64_t> stateShape =
      layout ? SmallVector<int64_t>{batch, directions, hidden}
             : SmallVector<int64_t>{directions, batch, hidden};
  if (failed(expect(w, "W", {directions, gates * hidden, inputSize})) ||
      failed(expect(r, "R", {directions, gates * hidden, hidden})) ||
      failed(expect(b, "B", {directions, 2 * gates * hidden})) ||
      failed(expect(p, "P", {directions, 3 * hidden})) ||
      failed(expect(h0, "initial_h", stateShape)) ||
      failed(expect(c0, "initial_c", stateShape)))
    return failure();
  if (layout) {
    h0 = h0 ? transposed(h0, {1, 0, 2}) : Value();
    c0 = c0 ? transposed(c0, {1, 0, 2}) : Value();
  }
  Value lengths;
  if (lens) {
    if (typeOf(lens).getShape() != ArrayRef<int64_t>{batch} ||
        !isa<IntegerType>(typeOf(lens).getElementType()))
      return error("expects integer sequence_lens of shape [" + Twine(batch) +
                   "]");
    FailureOr<Value> wide = castTo(lens, builder.getI64Type());
    if (failed(wide))
      return failure();
    FailureOr<Value> column = reshape(*wide, {batch, 1});
    if (failed(column))
      return failure();
    lengths = *column;
  }

  // Activations f, g, h per direction, with alpha and beta consumed in order
  // by those that take them.
  SmallVector<StringRef> defaults =
      lstm  ? SmallVector<StringRef>{"Sigmoid", "Tanh", "Tanh"}
      : gru ? SmallVector<StringRef>{"Sigmoid", "Tanh"}
            : SmallVector<StringRef>{"Tanh"};
  SmallVector<std::string> names;
  if (const onnx::AttributeProto *attr = findAttr("activations"))
    names.assign(attr->strings().begin(), attr->strings().end());
  if (names.empty())
    for (int64_t d = 0; d < directions; ++d)
      names.append(defaults.begin(), defaults.end());
  else if (directions == 2 && names.size() == defaults.size())
    names.append(SmallVector<std::string>(names));
  if (names.size() != defaults.size() * directions)
    return error("expects " + Twine(defaults.size() * directions) +
                 " activations, got " + Twine(names.size()));
  SmallVector<float> alphas, betas;
  if (const onnx::AttributeProto *attr = findAttr("activation_alpha"))
    alphas.assign(attr->floats().begin(), attr->floats().end());
  if (const onnx::AttributeProto *attr = findAttr("activation_beta"))
    betas.assign(attr->floats().begin(), attr->floats().end());
  struct Activation {
    std::string name;
    std::optional<float> alpha, beta;
  };
  SmallVector<Activation> activations;
  size_t nextAlpha = 0, nextBeta = 0;
  for (const std::string &name : names) {
    std::string lower = StringRef(name).lower();
    bool takesAlpha =
        llvm::is_contained({"leakyrelu", "thresholdedrelu", "scaledtanh",
                            "hardsigmoid", "elu", "affine"},
                           lower);
    bool takesBeta =
        llvm::is_contained({"scaledtanh", "hardsigmoid", "affine"}, lower);
    Activation activation{name, std::nullopt, std::nullopt};
    if (takesAlpha && nextAlpha < alphas.size())
      activation.alpha = alphas[nextAlpha++];
    if (takesBeta && nextBeta < betas.size())
      activation.beta = betas[nextBeta++];
    activations.push_back(activation);
  }
  std::optional<float> clip = getOptionalFloat("clip");
  bool linearBeforeReset = gru && getInt("linear_before_reset", 0);

  auto apply = [&](const Activation &activation, Value v) -> Value {
    if (!v)
      return {};
    if (clip)
      v = emit<llm::MinOp>({emit<llm::MaxOp>({v, scalarOf(element, -*clip)}),
                            scalarOf(element, *clip)});
    Value result =
        namedActivation(activation.name, v, activation.alpha, activation.beta);
    if (!result && v)
      (void)error("activation '" + activation.name + "' is not supported");
    return result;
  };
  auto matrix = [&](Value value, int64_t d, int64_t rows, int64_t columns) {
    FailureOr<Value> flat =
        reshape(sliceAlong(value, 0, d, d + 1), {rows, columns});
    return succeeded(flat) ? *flat : Value();
  };
  auto part = [&](Value value, int64_t index) {
    return sliceAlong(value, typeOf(value).getRank() - 1, index * hidden,
                      (index + 1) * hidden);
  };
  auto zeros = [&](int64_t rows) {
    return zerosOf(RankedTensorType::get({rows, hidden}, element));
  };

  SmallVector<Value> outputs, lastHidden, lastCell;
  for (int64_t d = 0; d < directions; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    const Activation *fns = &activations[d * defaults.size()];
    Value wd = matrix(w, d, gates * hidden, inputSize);
    Value rd = matrix(r, d, gates * hidden, hidden);
    // The input's part of every step at once, with the biases that add to
    // it (GRU's Rbh stays inside the reset with linear_before_reset).
    FailureOr<Value> flatX = reshape(x, {seq * batch, inputSize});
    if (failed(flatX) || !wd || !rd)
      return failure();
    FailureOr<Value> xw = plainMatMul(*flatX, wd, /*transposeRhs=*/true);
    if (failed(xw))
      return failure();
    Value inputPart = *xw, recurrentBias;
    if (b) {
      Value bd = matrix(b, d, 1, 2 * gates * hidden);
      Value wb = sliceAlong(bd, 1, 0, gates * hidden);
      Value rb = sliceAlong(bd, 1, gates * hidden, 2 * gates * hidden);
      if (linearBeforeReset) {
        recurrentBias = part(rb, 2);
        rb = concatAlong({sliceAlong(rb, 1, 0, 2 * hidden), zeros(1)}, 1);
      }
      inputPart = emit<llm::AddOp>({inputPart, emit<llm::AddOp>({wb, rb})});
    }
    FailureOr<Value> steps =
        inputPart ? reshape(inputPart, {seq, batch, gates * hidden})
                  : FailureOr<Value>(failure());
    if (failed(steps))
      return failure();
    Value peephole = p ? matrix(p, d, 1, 3 * hidden) : Value();
    Value h = h0 ? matrix(h0, d, batch, hidden) : zeros(batch);
    Value c =
        lstm ? (c0 ? matrix(c0, d, batch, hidden) : zeros(batch)) : Value();
    // GRU's candidate without linear_before_reset multiplies the reset
    // state by Rh alone.
    Value rGates =
        gru && !linearBeforeReset ? sliceAlong(rd, 0, 0, 2 * hidden) : rd;
    Value rCandidate = gru && !linearBeforeReset
                           ? sliceAlong(rd, 0, 2 * hidden, 3 * hidden)
                           : Value();
    SmallVector<Value> stepOutputs(seq);
    for (int64_t i = 0; i < seq; ++i) {
      int64_t t = reverse ? seq - 1 - i : i;
      FailureOr<Value> xt =
          reshape(sliceAlong(*steps, 0, t, t + 1), {batch, gates * hidden});
      if (failed(xt))
        return failure();
      // The state's part (none while the state is the zeros it starts as).
      Value hr;
      if (h0 || i > 0) {
        hr = orNull(plainMatMul(h, rGates, /*transposeRhs=*/true));
        if (!hr)
          return failure();
      }
      auto plus = [&](Value a, Value b) {
        return b ? emit<llm::AddOp>({a, b}) : a;
      };
      auto hrPart = [&](int64_t index) {
        return hr ? part(hr, index) : Value();
      };
      Value next, nextCell;
      if (lstm) {
        Value g = plus(*xt, hr);
        auto peep = [&](int64_t index, Value state) {
          return peephole ? emit<llm::MulOp>({part(peephole, index), state})
                          : Value();
        };
        auto withPeep = [&](Value gate, int64_t index, Value state) {
          Value extra = peep(index, state);
          return extra ? emit<llm::AddOp>({gate, extra}) : gate;
        };
        Value in = apply(fns[0], withPeep(part(g, 0), 0, c));
        Value forget = apply(fns[0], withPeep(part(g, 2), 2, c));
        Value candidate = apply(fns[1], part(g, 3));
        nextCell = emit<llm::AddOp>(
            {emit<llm::MulOp>({forget, c}), emit<llm::MulOp>({in, candidate})});
        Value out = apply(fns[0], withPeep(part(g, 1), 1, nextCell));
        next = emit<llm::MulOp>({out, apply(fns[2], nextCell)});
      } else if (gru) {
        Value update = apply(fns[0], plus(part(*xt, 0), hrPart(0)));
        Value reset = apply(fns[0], plus(part(*xt, 1), hrPart(1)));
        Value recurrent;
        if (linearBeforeReset) {
          Value hh = hrPart(2);
          if (recurrentBias)
            hh = hh ? emit<llm::AddOp>({hh, recurrentBias}) : recurrentBias;
          recurrent = hh ? emit<llm::MulOp>({reset, hh}) : Value();
        } else if (hr) {
          recurrent = orNull(plainMatMul(emit<llm::MulOp>({reset, h}),
                                         rCandidate, /*transposeRhs=*/true));
          if (!recurrent)
            return failure();
        }
        Value candidate = apply(fns[1], plus(part(*xt, 2), recurrent));
        // (1 - z) * candidate + z * h = candidate + z * (h - candidate)
        next = emit<llm::AddOp>(
            {candidate,
             emit<llm::MulOp>({update, emit<llm::SubOp>({h, candidate})})});
      } else {
        next = apply(fns[0], plus(*xt, hr));
      }
      if (!next || (lstm && !nextCell))
        return failure();
      Value output = next;
      if (lengths) {
        Value valid =
            emit<llm::LessOp>({scalarOf(builder.getI64Type(), t), lengths});
        next = emit<llm::WhereOp>({valid, next, h});
        if (lstm)
          nextCell = emit<llm::WhereOp>({valid, nextCell, c});
        output = emit<llm::WhereOp>({valid, output, scalarOf(element, 0)});
      }
      h = next;
      c = nextCell;
      FailureOr<Value> shaped = output ? reshape(output, {1, 1, batch, hidden})
                                       : FailureOr<Value>(failure());
      if (failed(shaped) || !h)
        return failure();
      stepOutputs[t] = *shaped;
    }
    outputs.push_back(concatAlong(stepOutputs, 0));
    FailureOr<Value> hd = reshape(h, {1, batch, hidden});
    if (failed(hd))
      return failure();
    lastHidden.push_back(*hd);
    if (lstm) {
      FailureOr<Value> cd = reshape(c, {1, batch, hidden});
      if (failed(cd))
        return failure();
      lastCell.push_back(*cd);
    }
  }
  Value y = concatAlong(outputs, 1);
  Value yh = concatAlong(lastHidden, 0);
  Value yc = lstm ? concatAlong(lastCell, 0) : Value();
  if (layout) {
    y = transposed(y, {2, 0, 1, 3});
    yh = transposed(yh, {1, 0, 2});
    yc = lstm ? transposed(yc, {1, 0, 2}) : Value();
  }
  if (!y || !yh || (lstm && !yc))
    return failure();
  results.push_back(y);
  results.push_back(yh);
  if (lstm)
    results.push_back(yc);
  return success();
}

LogicalResult ONNXImporter::importLoop() {
  int64_t carriedCount = node->input_size() - 2;
  if (carriedCount < 0)
    return error("expects inputs 'M' and 'cond' (either may be empty)");
  const onnx::AttributeProto *bodyAttr = findAttr("body");
  if (!bodyAttr || !bodyAttr->has_g())
    return error("expects graph attribute 'body'");
  int64_t scanCount = bodyAttr->g().output_size() - 1 - carriedCount;
  if (scanCount < 0)
    return error("the body has " + Twine(bodyAttr->g().output_size()) +
                 " outputs, expects at least " + Twine(1 + carriedCount));
  if (node->output_size() > carriedCount + scanCount)
    return error("expects at most " + Twine(carriedCount + scanCount) +
                 " outputs, got " + Twine(node->output_size()));

  std::optional<int64_t> tripCount;
  if (input(0)) {
    FailureOr<int64_t> m = constantScalarInt(0, "M");
    if (failed(m))
      return failure();
    tripCount = *m;
    if (*tripCount > kMaxUnrolledIterations - unrolledIterations)
      return error("unrolls more than " + Twine(kMaxUnrolledIterations) +
                   " loop iterations (trip count " + Twine(*tripCount) + ")");
  }
  bool cond = true;
  if (input(1)) {
    std::optional<SmallVector<int64_t>> given = compileTimeInts(input(1));
    if (!given || given->size() != 1)
      return error("input 'cond' must be a compile-time constant");
    cond = given->front() != 0;
  } else if (!tripCount) {
    return error("has neither a trip count nor a condition: it never ends");
  }

  SmallVector<Item> carried;
  for (int64_t i = 0; i < carriedCount; ++i) {
    FailureOr<Item> item = lookupItem(node->input(2 + i));
    if (failed(item))
      return failure();
    carried.push_back(*item);
  }
  SmallVector<SmallVector<Value>> scans(scanCount);
  for (int64_t iteration = 0; cond && (!tripCount || iteration < *tripCount);
       ++iteration) {
    if (++unrolledIterations > kMaxUnrolledIterations)
      return error("unrolls more than " + Twine(kMaxUnrolledIterations) +
                   " loop iterations");
    SmallVector<Item> bindings(2);
    bindings[0].tensor = indexConstant({}, {iteration});
    bindings[1].tensor =
        denseConstant<bool>(builder.getI1Type(), {}, ArrayRef<bool>{true});
    llvm::append_range(bindings, carried);
    FailureOr<SmallVector<Item>> outputs =
        importBody("body", bindings, /*again=*/true);
    if (failed(outputs))
      return failure();
    const Item &condOut = outputs->front();
    std::optional<SmallVector<int64_t>> next =
        condOut.isSequence ? std::nullopt : compileTimeInts(condOut.tensor);
    if (!next || next->size() != 1)
      return error("the body's condition output must be a compile-time "
                   "constant");
    cond = next->front() != 0;
    carried.assign(outputs->begin() + 1, outputs->begin() + 1 + carriedCount);
    for (int64_t k = 0; k < scanCount; ++k) {
      const Item &scan = (*outputs)[1 + carriedCount + k];
      if (scan.isSequence)
        return error("scan output " + Twine(k) + " is a sequence");
      scans[k].push_back(scan.tensor);
    }
  }

  for (const Item &item : carried)
    (void)setItemResult(item);
  for (int64_t k = 0; k < scanCount; ++k) {
    if (scans[k].empty())
      return error("the loop runs no iteration; its scan outputs have no "
                   "known shape");
    // Scan outputs stack the iterations' values along a new first axis.
    if (failed(setResult(stackAlong(scans[k], 0))))
      return failure();
  }
  return success();
}

/// Scan, unrolled over its static sequence: iteration t binds the state
/// variables and each scan input's slice t along its axis (from the end for
/// a reverse input) to the body's inputs; the body's last state outputs are
/// the node's first results, and each scan output stacks the iterations'
/// values along its axis (the last iteration first for a reverse output).
/// Opset 8's form (which the upgrade leaves to the importer: ONNX's adapter
/// drops the batch axis from the graph's inputs) has a leading batch axis
/// on every operand and result, scans axis 1, and takes sequence_lens first:
/// each batch row scans alone, and every row must run the whole sequence.
LogicalResult ONNXImporter::importScan() {
  const onnx::AttributeProto *bodyAttr = findAttr("body");
  if (!bodyAttr || !bodyAttr->has_g())
    return error("expects graph attribute 'body'");
  bool batched = upgradedFrom && upgradedFrom < 9;
  int64_t first = batched ? 1 : 0;
  int64_t scanInputs = getInt("num_scan_inputs", 0);
  int64_t stateCount = node->input_size() - first - scanInputs;
  if (scanInputs < 1 || stateCount < 0)
    return error("num_scan_inputs " + Twine(scanInputs) +
                 " is not between 1 and the " +
                 Twine(node->input_size() - first) + " inputs");
  int64_t scanOutputs = bodyAttr->g().output_size() - stateCount;
  if (scanOutputs < 0 ||
      bodyAttr->g().input_size() != node->input_size() - first)
    return error("the body takes " + Twine(bodyAttr->g().input_size()) +
                 " inputs and returns " + Twine(bodyAttr->g().output_size()) +
                 "; expects " + Twine(node->input_size() - first) +
                 " inputs and at least " + Twine(stateCount) + " outputs");
  for (int64_t i = first; i < node->input_size(); ++i)
    if (!input(i))
      return error("expects input " + Twine(i));
  // Per-input and per-output attributes: their count and each value's range.
  auto listed = [&](StringRef name, int64_t count, int64_t lo,
                    int64_t hi) -> FailureOr<SmallVector<int64_t>> {
    SmallVector<int64_t> values =
        getInts(name).value_or(SmallVector<int64_t>(count, 0));
    if (static_cast<int64_t>(values.size()) != count)
      return error("expects " + Twine(count) + " values in '" + name +
                   "', got " + Twine(values.size()));
    for (int64_t value : values)
      if (value < lo || value > hi)
        return error("'" + name + "' value " + Twine(value) + " is outside [" +
                     Twine(lo) + ", " + Twine(hi) + "]");
    return values;
  };
  constexpr int64_t kAny = std::numeric_limits<int64_t>::max();
  FailureOr<SmallVector<int64_t>> inDirections = listed(
      batched ? "directions" : "scan_input_directions", scanInputs, 0, 1);
  FailureOr<SmallVector<int64_t>> outDirections =
      batched ? SmallVector<int64_t>(scanOutputs, 0)
              : listed("scan_output_directions", scanOutputs, 0, 1);
  FailureOr<SmallVector<int64_t>> inAxes =
      batched ? SmallVector<int64_t>(scanInputs, 0)
              : listed("scan_input_axes", scanInputs, -kAny, kAny);
  FailureOr<SmallVector<int64_t>> outAxes =
      batched ? SmallVector<int64_t>(scanOutputs, 0)
              : listed("scan_output_axes", scanOutputs, -kAny, kAny);
  if (failed(inDirections) || failed(outDirections) || failed(inAxes) ||
      failed(outAxes))
    return failure();

  // The operands; of opset 8, those of each batch row.
  int64_t batch = 1;
  if (batched) {
    for (int64_t i = first; i < node->input_size(); ++i) {
      RankedTensorType type = typeOf(input(i));
      int64_t rows = type.getRank() ? type.getDimSize(0) : 0;
      if (i > first && rows != batch)
        return error("input " + Twine(i) + " has " + Twine(rows) +
                     " batch rows, input " + Twine(first) + " " + Twine(batch));
      if (rows < 1 || (i >= first + stateCount && type.getRank() < 2))
        return error("input " + Twine(i) + " of shape " +
                     shapeString(type.getShape()) +
                     " has no batch axis (and for a scan input, sequence "
                     "axis) of opset 8");
      batch = rows;
    }
  }
  auto operand = [&](int64_t i, int64_t row) -> Value {
    Value value = input(first + i);
    if (!batched)
      return value;
    SmallVector<int64_t> shape(typeOf(value).getShape().drop_front());
    return orNull(reshape(sliceAlong(value, 0, row, row + 1), shape));
  };

  // Every scan input's axis, and the one sequence length they share.
  std::optional<int64_t> length;
  for (int64_t k = 0; k < scanInputs; ++k) {
    RankedTensorType type = typeOf(input(first + stateCount + k));
    int64_t rank = type.getRank() - (batched ? 1 : 0);
    if (rank < 1)
      return error("scan input " + Twine(k) +
                   " is a scalar: it has no axis to scan");
    std::string what = "scan input " + std::to_string(k) + "'s axis";
    FailureOr<int64_t> axis = normalizeAxis((*inAxes)[k], rank, what);
    if (failed(axis))
      return failure();
    (*inAxes)[k] = *axis;
    int64_t dim = type.getDimSize(*axis + (batched ? 1 : 0));
    if (length && *length != dim)
      return error("scan input " + Twine(k) + " has " + Twine(dim) +
                   " steps along axis " + Twine(*axis) + ", scan input 0 has " +
                   Twine(*length));
    length = dim;
  }
  if (*length < 1)
    return error("the sequence has no step; its scan outputs have no "
                 "known shape");
  if (batched && input(0)) {
    std::optional<SmallVector<int64_t>> lens = compileTimeInts(input(0));
    if (!lens)
      return error("input 'sequence_lens' must be a compile-time constant");
    for (int64_t len : *lens)
      if (len != *length)
        return error("sequence_lens " + Twine(len) +
                     " is not the whole sequence (" + Twine(*length) +
                     " steps): rows of other lengths are not supported");
  }
  if (batch * *length > kMaxUnrolledIterations - unrolledIterations)
    return error("unrolls more than " + Twine(kMaxUnrolledIterations) +
                 " iterations (sequence length " + Twine(*length) + ")");
  unrolledIterations += batch * *length;

  SmallVector<SmallVector<Value>> rowStates(stateCount), rowScans(scanOutputs);
  for (int64_t row = 0; row < batch; ++row) {
    SmallVector<Item> states;
    for (int64_t i = 0; i < stateCount; ++i) {
      Item item;
      if (batched) {
        item.tensor = operand(i, row);
      } else {
        FailureOr<Item> given = lookupItem(node->input(i));
        if (failed(given))
          return failure();
        item = *given;
      }
      if (!item.isSequence && !item.tensor)
        return failure();
      states.push_back(item);
    }
    SmallVector<SmallVector<Value>> scans(scanOutputs);
    for (int64_t t = 0; t < *length; ++t) {
      SmallVector<Item> bindings(states);
      for (int64_t k = 0; k < scanInputs; ++k) {
        Value scanned = operand(stateCount + k, row);
        if (!scanned)
          return failure();
        int64_t axis = (*inAxes)[k];
        int64_t step = (*inDirections)[k] ? *length - 1 - t : t;
        SmallVector<int64_t> shape(typeOf(scanned).getShape());
        shape.erase(shape.begin() + axis);
        FailureOr<Value> slice =
            reshape(sliceAlong(scanned, axis, step, step + 1), shape);
        if (failed(slice) || !*slice)
          return failure();
        Item item;
        item.tensor = *slice;
        bindings.push_back(item);
      }
      FailureOr<SmallVector<Item>> outputs =
          importBody("body", bindings, /*again=*/true);
      if (failed(outputs))
        return failure();
      states.assign(outputs->begin(), outputs->begin() + stateCount);
      for (int64_t k = 0; k < scanOutputs; ++k) {
        const Item &scan = (*outputs)[stateCount + k];
        if (scan.isSequence)
          return error("scan output " + Twine(k) + " is a sequence");
        scans[k].push_back(scan.tensor);
      }
    }
    // The final states: the node's first results, or of opset 8 this row's.
    for (auto [i, item] : llvm::enumerate(states)) {
      if (!batched) {
        (void)setItemResult(item);
      } else if (item.isSequence) {
        return error("state output " + Twine(i) + " is a sequence");
      } else {
        rowStates[i].push_back(item.tensor);
      }
    }
    for (int64_t k = 0; k < scanOutputs; ++k) {
      if ((*outDirections)[k])
        std::reverse(scans[k].begin(), scans[k].end());
      std::string what = "scan output " + std::to_string(k) + "'s axis";
      FailureOr<int64_t> axis = normalizeAxis(
          (*outAxes)[k], typeOf(scans[k].front()).getRank() + 1, what);
      if (failed(axis))
        return failure();
      FailureOr<Value> stacked = stackAlong(scans[k], *axis);
      if (failed(stacked))
        return failure();
      rowScans[k].push_back(*stacked);
    }
  }
  // Of opset 8, the rows' results stacked along the batch axis.
  if (batched)
    for (ArrayRef<Value> rows : rowStates)
      if (failed(setResult(stackAlong(rows, 0))))
        return failure();
  for (ArrayRef<Value> rows : rowScans)
    if (failed(setResult(batched ? stackAlong(rows, 0) : rows.front())))
      return failure();
  return success();
}

FailureOr<SmallVector<Value>> ONNXImporter::sequenceInput(unsigned index) {
  if (index >= static_cast<unsigned>(node->input_size()))
    return error("expects a sequence as input " + Twine(index));
  auto it = sequences.find(node->input(index));
  if (it == sequences.end())
    return error("expects input '" + node->input(index) + "' to be a sequence");
  return it->second;
}

/// The position operand `index` of a sequence op, normalized against a
/// sequence of `size` (an insert may also name the end).
FailureOr<int64_t> ONNXImporter::sequencePosition(unsigned index, int64_t size,
                                                  bool insert) {
  FailureOr<int64_t> position = constantScalarInt(index, "position");
  if (failed(position))
    return failure();
  int64_t limit = insert ? size + 1 : size;
  int64_t normalized = *position < 0 ? *position + size : *position;
  if (normalized < 0 || normalized >= limit)
    return error("position " + Twine(*position) +
                 " is outside the sequence of " + Twine(size) + " tensors");
  return normalized;
}

LogicalResult ONNXImporter::importSequenceEmpty() {
  Item item;
  item.isSequence = true;
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceConstruct() {
  if (failed(requireInputs(node->input_size())))
    return failure();
  Item item;
  item.isSequence = true;
  item.sequence = inputs;
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSplitToSequence() {
  if (failed(requireInputs(1)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getDimSize(*axis);
  SmallVector<int64_t> sizes;
  bool squeeze = false;
  if (input(1)) {
    FailureOr<SmallVector<int64_t>> split = constantInts(1, "split");
    if (failed(split))
      return failure();
    if (typeOf(input(1)).getRank() == 0) {
      int64_t chunk = split->front();
      if (chunk <= 0)
        return error("expects a positive split, got " + Twine(chunk));
      for (int64_t remaining = dim; remaining > 0; remaining -= chunk)
        sizes.push_back(std::min(chunk, remaining));
    } else {
      sizes = *split;
      int64_t total = 0;
      for (int64_t size : sizes) {
        if (size < 0)
          return error("expects split sizes >= 0, got " + Twine(size));
        total += size;
      }
      if (total != dim)
        return error("split sizes sum to " + Twine(total) + ", dim " +
                     Twine(*axis) + " has " + Twine(dim));
    }
  } else {
    sizes.assign(dim, 1);
    squeeze = getInt("keepdims", 1) == 0;
  }
  Item item;
  item.isSequence = true;
  if (!sizes.empty()) {
    SmallVector<Type> pieceTypes;
    for (int64_t size : sizes) {
      SmallVector<int64_t> shape(type.getShape());
      shape[*axis] = size;
      pieceTypes.push_back(type.clone(shape));
    }
    FailureOr<SmallVector<Value>> pieces = createOp<llm::SplitOp>(
        input(0),
        {namedAttr("axis", builder.getI64IntegerAttr(*axis)),
         namedAttr("sizes", builder.getDenseI64ArrayAttr(sizes))},
        TypeRange(pieceTypes));
    if (failed(pieces))
      return failure();
    for (Value piece : *pieces) {
      if (squeeze) {
        SmallVector<int64_t> shape(type.getShape());
        shape.erase(shape.begin() + *axis);
        FailureOr<Value> squeezed = reshape(piece, shape);
        if (failed(squeezed))
          return failure();
        piece = *squeezed;
      }
      item.sequence.push_back(piece);
    }
  }
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceAt() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  FailureOr<int64_t> position = sequencePosition(1, sequence->size(), false);
  if (failed(position))
    return failure();
  return setResult((*sequence)[*position]);
}

LogicalResult ONNXImporter::importSequenceInsert() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  if (!input(1))
    return error("expects input 'tensor'");
  int64_t position = sequence->size();
  if (input(2)) {
    FailureOr<int64_t> given = sequencePosition(2, sequence->size(), true);
    if (failed(given))
      return failure();
    position = *given;
  }
  Item item;
  item.isSequence = true;
  item.sequence = *sequence;
  item.sequence.insert(item.sequence.begin() + position, input(1));
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceErase() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  if (sequence->empty())
    return error("erases from an empty sequence");
  int64_t position = sequence->size() - 1;
  if (input(1)) {
    FailureOr<int64_t> given = sequencePosition(1, sequence->size(), false);
    if (failed(given))
      return failure();
    position = *given;
  }
  Item item;
  item.isSequence = true;
  item.sequence = *sequence;
  item.sequence.erase(item.sequence.begin() + position);
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceLength() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  return setResult(
      indexConstant({}, {static_cast<int64_t>(sequence->size())}));
}

LogicalResult ONNXImporter::importConcatFromSequence() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  if (sequence->empty())
    return error("concatenates an empty sequence");
  if (!findAttr("axis"))
    return error("expects attribute 'axis'");
  bool newAxis = getInt("new_axis", 0) != 0;
  int64_t rank = typeOf(sequence->front()).getRank();
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", 0), newAxis ? rank + 1 : rank);
  if (failed(axis))
    return failure();
  if (newAxis)
    return setResult(stackAlong(*sequence, *axis));
  return setResult(create<llm::ConcatOp>(
      *sequence, {namedAttr("axis", builder.getI64IntegerAttr(*axis))}));
}

/// `values` (of one shape) stacked along a new dim at `axis`.
FailureOr<Value> ONNXImporter::stackAlong(ArrayRef<Value> values,
                                          int64_t axis) {
  SmallVector<Value> pieces;
  for (Value value : values) {
    SmallVector<int64_t> shape(typeOf(value).getShape());
    shape.insert(shape.begin() + axis, 1);
    FailureOr<Value> expanded = reshape(value, shape);
    if (failed(expanded))
      return failure();
    pieces.push_back(*expanded);
  }
  return create<llm::ConcatOp>(
      pieces, {namedAttr("axis", builder.getI64IntegerAttr(axis))});
}

} // namespace mlir::llm::importer
