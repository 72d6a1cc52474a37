//===- Passes.td - transforms of the llm dialect -----------*- tablegen -*-===//
#ifndef LLM_TRANSFORMS_PASSES_TD
#define LLM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LLMOutlineWeights : Pass<"llm-outline-weights", "ModuleOp"> {
  let summary = "turn large constants into function arguments bound at run time";
  let description = [{
    Weights should not be compiled into code: a JIT or an object file that
    embeds 500 MB of constants is slow to build and holds them twice. This
    pass replaces every `llm.constant` with at least `min-elements` elements
    in the entry function by a new trailing argument carrying
    `llm.weight = "<name>"`, and records the values in a module attribute
    `llm.weights` (a dictionary from name to the ElementsAttr), which the
    runtime binds to those arguments without copying.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"256",
           "constants with at least this many elements become arguments">,
  ];
}

def LLMKMajorWeights : Pass<"llm-k-major-weights", "ModuleOp"> {
  let summary = "store constant matmul weights as [.., N, K] (transpose_rhs)";
  let description = [{
    A tensor-core GEMM loads both operands as tiles whose rows are
    contiguous along K, 16 bytes at a time. Activations already are
    (`[.., M, K]`); a weight exported as `[.., K, N]` (`x @ W`) is not, and
    its tiles would be transposed on every load. This pass rewrites each
    `llm.matmul` whose rhs is an `llm.constant` and not `transpose_rhs` to
    read a new constant holding the transposed values, with
    `transpose_rhs = true`: the transposition happens once, at compile time.
    A constant with other users keeps its original too. `llm.qmatmul`'s
    int8 weights (pre-quantized models) move the same way, a zero point
    per column or per tensor reshaped to match (one that varies along both
    K and N keeps the product as it is). Experts gathered from a constant
    `[E, K, N]` table along a leading axis (a routed mixture of experts')
    are gathered from the table transposed to `[E, N, K]` instead. Only the
    ptx pipeline runs it,
    before llm-outline-weights (llm-n-major-weights is the host's layout).

    ```mlir
    %w = llm.constant dense<...> : tensor<64x128xf32>
    %y = llm.matmul %x, %w : (tensor<8x64xf32>, tensor<64x128xf32>) -> tensor<8x128xf32>
    // becomes
    %w = llm.constant dense<...> : tensor<128x64xf32>
    %y = llm.matmul %x, %w {transpose_rhs = true} : ...
    ```
  }];
}

def LLMNMajorWeights : Pass<"llm-n-major-weights", "ModuleOp"> {
  let summary = "store constant matmul weights as [.., K, N] (no transpose_rhs)";
  let description = [{
    The host's and the FPGA's products vectorize (or pipeline) their
    output's contiguous loop, N: each step reads a row of the rhs along N.
    A weight read transposed (`transpose_rhs`: ONNX's Gemm with transB, the
    `[E, N, K]` experts of a routed mixture of experts or of ONNX Runtime's
    MoE) has K contiguous instead, and the host's loop order would copy it
    transposed on every run. This pass, the converse of
    llm-k-major-weights, rewrites each `llm.matmul` whose rhs is an
    `llm.constant` read with `transpose_rhs` to read a new constant holding
    the transposed values, without it: the transposition happens once, at
    compile time. Experts gathered from a constant `[E, N, K]` table along
    a leading axis are gathered from the table transposed to `[E, K, N]`.
    A constant with other users keeps its original too. Integer products
    (`llm.qmatmul`) are left as they are. The host and hls targets run it
    before llm-outline-weights; the sum over K keeps its order, so the
    results do not change.

    ```mlir
    %w = llm.constant dense<...> : tensor<128x64xf32>
    %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<8x64xf32>, tensor<128x64xf32>) -> tensor<8x128xf32>
    // becomes
    %w = llm.constant dense<...> : tensor<64x128xf32>
    %y = llm.matmul %x, %w : ...
    ```
  }];
}

def LLMFuseMatMulEpilogue : Pass<"llm-fuse-matmul-epilogue"> {
  let summary = "fold scale, bias, activation and residual adds into llm.matmul";
  let description = [{
    Folds the elementwise ops that follow a product into the epilogue of
    `llm.matmul`, `act(scale * (lhs x rhs) + bias) + residual`, when the
    intermediate value has no other user and the fused op computes the same
    fp32 numbers: a multiply by a scalar constant (or a divide by one whose
    reciprocal is exact) becomes `scale` while nothing else is set; an add of
    a vector along the last dim becomes `bias` before any activation or
    residual; `llm.relu`, `llm.gelu` and `llm.silu` become `activation`
    before any residual; an add of a tensor of the result's shape becomes
    `residual`. `llm.gemm` becomes `llm.matmul` (alpha is the scale, c the
    bias) when beta is 1 or there is no c, so later passes see one op.
    An f32 multiply of an `llm.qmatmul` accumulator cast to f32 becomes
    `llm.dequantize` of the accumulator, the form the backends fuse into the
    integer product.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of rewrite">,
  ];
  let statistics = [
    Statistic<"numGemms", "gemms", "llm.gemm ops turned into llm.matmul">,
    Statistic<"numScales", "scales", "scalar multiplies and divides fused">,
    Statistic<"numBiases", "biases", "bias adds fused">,
    Statistic<"numActivations", "activations", "activations fused">,
    Statistic<"numResiduals", "residuals", "residual adds fused">,
    Statistic<"numDequantizations", "dequantizations",
              "casts and multiplies of integer products made dequantizations">,
  ];
}

def LLMFuseDequantizedProducts : Pass<"llm-fuse-dequantized-products"> {
  let summary = "multiply dequantized 8-bit operands as integers";
  let description = [{
    A QDQ-quantized model (ONNX Runtime's `quantize_static` in its default
    QDQ format) multiplies two `llm.dequantize`d 8-bit tensors in float.
    When each operand's scale and zero point are constant along k (per
    tensor or per row of the lhs; per tensor or per column of the rhs), an
    `llm.matmul` without an epilogue (lhs not transposed) or an `llm.gemm`
    (alpha 1, A not transposed, beta 1 or no C) of them becomes
    `llm.dequantize(llm.qmatmul(qa, qb, za, zb), sa * sb)` (plus C): the
    exact i32 sum of (qa - za)(qb - zb) and one f32 multiply by the product
    of the scales, the form ONNX Runtime's optimizer gives such a pair and
    the one int8 hardware runs. Unsigned operands stay unsigned; a zero
    point of constant zeros is dropped; a transposed rhs's per-column scale
    is read as a row. Two FP8 (`e4m3`) operands make an `e4m3` product
    (f32 accumulation) the same way, unless `fp8=false` (int8
    quantization then requantizes such a product's weight from its FP8
    values). Runs before llm-fuse-matmul-epilogue, which then leaves these
    products alone.

    ```mlir
    %a = llm.dequantize %qa, %sa, %za {is_unsigned} : ... -> tensor<8x64xf32>
    %b = llm.dequantize %qb, %sb : (tensor<64x32xi8>, tensor<32xf32>) -> ...
    %y = llm.matmul %a, %b : ...
    // becomes
    %acc = llm.qmatmul %qa, %qb lhs_zero_point %za {lhs_unsigned} : ...
    %s = llm.mul %sa, %sb : ...
    %y = llm.dequantize %acc, %s : ...
    ```
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of products rewritten">,
    Option<"fp8", "fp8", "bool", /*default=*/"true",
           "make products of two FP8 (e4m3) operands e4m3 products">,
  ];
  let statistics = [
    Statistic<"numProducts", "integer-products",
              "products of dequantized operands made integer products">,
  ];
}

def LLMFuseQKV : Pass<"llm-fuse-qkv"> {
  let summary = "merge matmuls that share an input into one wider matmul";
  let description = [{
    Two or more `llm.matmul` ops with the same lhs, constant 2-D weights of
    the same K, the same transpose flags and the same epilogue (scale,
    activation, constant biases or none, no residual) become one matmul whose
    weights (and biases) are concatenated along N into a new constant,
    followed by `llm.split` along the last dim. The Q, K and V projections of
    attention and the gate and up projections of a gated MLP are the usual
    cases: one wide product instead of several narrow ones reads the
    activations once. Products of experts gathered along axis 0 from
    constant `[E, K, N]` (or `[E, N, K]`) tables by the same indices (a
    routed mixture of experts' gate and up projections) merge the same way:
    the tables are concatenated expert by expert and gathered once.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of rewrite">,
  ];
  let statistics = [
    Statistic<"numGroups", "groups", "groups of matmuls merged into one">,
    Statistic<"numMatMuls", "matmuls", "matmuls replaced by a merged one">,
  ];
}

def LLMRouteExperts : Pass<"llm-route-experts"> {
  let summary = "make masked per-expert results read the routed experts' "
                "weights only";
  let description = [{
    Hugging Face's eager mixture of experts, as exported (NonZero of each
    expert's one-hot routing mask, padded by the importer to every
    (choice, token) row), runs every expert on every row and masks each
    expert's results by its flags: `where(flag_e, z_e, other)`. Where the
    flags of two or more such selects are slices at distinct positions of
    one tensor that is one-hot along the sliced axis (at most one expert
    flagged per row), and the z_e are one row-wise computation (elementwise
    ops, 2-D products, splits and slices along the columns, on [R, n]
    values) that differs only in constants (products' 2-D weights, row
    vectors), every select reads one routed result instead: the same
    computation with each row's constants gathered from the experts'
    constants stacked into one (weights as `[E, N, K]`, ONNX Runtime's MoE
    layout, read as `[R, 1, K] x [R, N, K]ᵀ` products). Applied where the
    rows R are fewer
    than the experts (a decoding step), so that only the flagged experts'
    weights are read; the per-expert computations go.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of rewrite">,
  ];
  let statistics = [
    Statistic<"numGroups", "groups", "groups of experts routed">,
    Statistic<"numExperts", "experts", "experts whose results now read the routed one">,
  ];
}

def LLMSinkRowGathers : Pass<"llm-sink-row-gathers"> {
  let summary = "compute row-wise ops on the rows before a gather repeats them";
  let description = [{
    An op that computes each row of its `[R, ..]` results from the same row
    of its operands (elementwise ops, `[R, K] x [K, N]` products, splits and
    slices along the columns) commutes with a gather of rows:
    `f(gather(x, C), ..) == gather(f(x, ..), C)`. Where every operand with
    rows is gathered along axis 0 at one constant C that repeats rows (more
    indices than x has rows), the op runs on x's rows and its results are
    gathered; repeated, the gather sinks to where the rows meet values of
    their own. `reshape(gather(x [1, T, ..], C, axis 1))` to `[R, ..]` is
    read as a gather of `reshape(x)` along axis 0 first.

    Hugging Face's eager mixture of experts, as the importer pads it,
    gathers each token's row once per routing choice before every expert
    (k T rows from T): sunk, each expert runs on the T tokens, as ONNX
    Runtime's dense MoE does, and its results are gathered where they meet
    the per-choice gates.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of rewrite">,
  ];
  let statistics = [
    Statistic<"numSunk", "sunk", "row-wise ops moved before a repeating gather">,
    Statistic<"numViews", "views", "gathers along a unit batch read as row gathers">,
  ];
}

def LLMFuseAttention : Pass<"llm-fuse-attention"> {
  let summary = "fuse the matmul-scale-mask-softmax-matmul chain into llm.attention";
  let description = [{
    Matches `matmul(softmax(mask(scale(matmul(q, k^T))), axis = last), v)`
    as exporters write it and replaces it by one `llm.attention`:

    - k^T is `transpose_rhs` or an `llm.transpose` (of any permutation
      whose last two dims are swapped relative to k's layout);
    - the scale is a multiply by, or a divide by, a scalar constant on the
      scores, on q or on k (several multiply together; on q also under
      reshapes and transposes, as Hugging Face's BART and OPT scale q
      before splitting the heads), or the `scale` of the scores' matmul.
      The constant may be a scalar expression of constants (casts,
      reshapes, sqrt, rsqrt, reciprocal, neg, +, -, *, /, pow, max, min),
      as GPT-2's `torch.full([], v.size(-1) ** 0.5)` exports `pow(16, 0.5)
      + 0`;
    - the mask is an `llm.add` of a float tensor, or
      `llm.where(c, scores, fill)` / `llm.where(c, fill, scores)` with a
      boolean `c` and a fill of -inf or a large negative constant
      (<= -1e4), which becomes an i1 mask (or `llm.not c`); a positive
      scale above such a where (GPT-J divides the masked scores, and then
      may add the padding) joins the attention's scale if the scaled fill
      is still <= -1e4. Between the
      scale and the mask, a logit soft-cap `f2 * tanh(f1 * scores)` (Gemma
      2's `c * tanh(s / c)`, each op read once, f2 > 0) becomes
      `softcap = f2` with scale f1 * f2. An additive mask under a
      positive scale, `(scores + b) * k` (Falcon's ALiBi path, then maybe
      `+ m`), is `scores * k + b * k`: k joins the scale and `b * k` the
      mask, by a sum. A mask that
      evaluates at compile time (constants, slices, comparisons, casts,
      reshapes) to the bottom-right causal pattern becomes `causal = true`
      with no mask operand; one that is all "attend" disappears. A mask
      that joins such a causal pattern with a run-time mask, as causal LMs
      build it from a causal buffer and `attention_mask` (`and` of keys
      that attend, `or` of hidden keys, a sum of additive masks, or
      `where(c, 0, fill)` / `where(c, fill, 0)` over such a `c`, through
      `not`, or `where(c, fill, causal)` / `where(c, causal, fill)`: the
      additive causal buffer with the keys of a run-time `c` filled in, as
      Hugging Face's mask converter and `_update_causal_mask` write
      masked_fill; a where's branch may be arithmetic on `cast(c)`, which
      is known where the branch is taken (Falcon's `(m * 1.0).masked_fill(m,
      -1e9)`); also through casts, a product with a 0/1 causal constant
      for keys that attend, `(1 - a) * fill` with `a` of keys that attend
      (T5's extended mask), and a sum or join with another run-time mask,
      such as T5's position bias, which stays with the rest), becomes
      `causal = true` with the run-time part as the mask, usually [B, 1, 1, S] where the whole was [B, 1, T, S]. The causal
      pattern may have a sliding window (each query sees only the W keys
      ending at its diagonal, as Mistral's, Gemma 2's and Phi-3's masks):
      it becomes `window = W` as well. An `llm.attention` already in the
      input (from an importer of a fused attention op with a constant
      attention mask) has its mask operand read the same way;
    - the mask operand of an `llm.attention` that repeats one row for every
      query is rebuilt with one row ([.., 1, S]): its run-time leaves are
      `llm.expand`s over the queries of tensors with one row, joined by
      elementwise ops (arithmetic, comparisons, logic, where, cast) with
      constants whose elements are all equal on the keys each query sees
      (under `causal` and `window`, the keys the causal rule hides do not
      count), which become scalars. Hugging Face's [B, 1, T, S] masks so
      become the [B, 1, 1, S] padding;
    - attention sinks as Hugging Face's gpt-oss writes them (the masked
      scores concatenated with a column of each head's sink logit, the row
      maximum optionally subtracted, softmax, the sink's column sliced
      off) become the op's `sink` [H]: the logits under the column's
      expand and reshape, or read off a constant column whose elements are
      equal per head;
    - two masks, an `llm.add` inside such a where (BLOOM adds ALiBi, then
      hides keys) or a where inside an `llm.add` (GPT-2 hides future keys,
      then adds the padding), become one additive mask,
      `where(c, bias, fill)` (or the bias alone once c is the causal rule),
      unless it would be larger than the larger of the two (it may be
      when c is the run-time part of a causal mask: such a part usually
      repeats one row per query, and the rows are then narrowed);
    - k and v repeated from Hkv to Hq heads as exporters write
      grouped-query attention (a unit dim after the heads, `llm.expand` or
      `llm.concat` of copies along it, `llm.reshape` merging it) are
      replaced by the unrepeated tensors;
    - a clamp from below at a large negative constant between the mask and
      the softmax (`llm.max(scores, c)`, c <= -1e4: OPT's
      `torch.max(scores, finfo.min)`) is stepped over;
    - torch's NaN guard after the softmax, `where(not(equal(w, w)), 0, w)`
      (torchlib's scaled_dot_product_attention with a bool mask, from
      `torch.onnx.export(dynamo=True)`), fuses with the softmax: the guard
      turns the NaN of a row that hides every key into zeros, as
      llm.attention gives there (a NaN from a NaN input is not zeroed);
    - heads merged into the batch for 3-D products (OPT's bmm over
      [B*H, T, D], with the scores reshaped to [B, H, T, S] for the mask
      and back for the softmax) are first moved into the split batch: q, k
      and v reshaped to [B, H, ., D], the products and the softmax in 4-D,
      the result reshaped back (also with the softmax already on the split
      batch and adds or scales before the split, as BLOOM's baddbmm);
    - multi-query attention with the heads folded into the query rows
      (GPT-BigCode's [B, T*H, D] x [B, S, D]^T, the scores viewed as
      [B, T, H, S] for the mask and the softmax) is first rewritten with
      the heads first: q as [B, H, T, D], k and v as one head [B, 1, S, D],
      the mask and the other operands between the product and the softmax
      transposed alike, the result transposed back;
    - a mask added on a view that splits the scores' batch, as Swin adds
      its shifted-window mask on [N, W, H, T, S] ([N*W, H, T, S] scores),
      moves onto the merged batch: the mask is broadcast over the dims it
      lacks of the two and merged like the scores;
    - a factor on the scores that is one per row of q (Swin V2's per-head
      exp(logit_scale) [H, 1, 1], or a scalar known only at run time)
      moves onto q: `matmul(q * c, k^T)`;
    - three or more masks one after the other (adds, and wheres with a
      large negative fill, perhaps with positive constant scales between
      them) join into one additive mask, the sum of each mask's part
      scaled by the scales above it, a where's part `where(c, fill, 0)` or
      `where(c, 0, fill)`; the causal part of the sum still splits off.
      Under weights zeroed after the softmax, the top where stays and two
      or more masks below it join.

    The chain is left alone unless every intermediate (the scores, the
    scaled and masked scores, the softmax) has no other user, the softmax
    is over the last axis, and the attention op's shape rules hold for
    what was matched with exactly the chain's result type. A large
    negative where-fill, like -inf, then gives zeros on a fully masked row
    (see `llm.attention`), where the unfused chain would average; so does
    a row of -inf scores behind a clamp. With a causal part split off, a
    row with no visible key (a left-padded query) averages only the keys
    the causal rule keeps, where the unfused chain averages every key its
    finite fill left finite; rows with a visible key are unchanged.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of "
           "rewrite, and one at each softmax of attention left unfused">,
  ];
  let statistics = [
    Statistic<"numFused", "fused-attentions",
              "attention chains fused into llm.attention">,
    Statistic<"numCausalMasks", "causal-masks",
              "llm.attention masks whose causal part became causal/window">,
    Statistic<"numRowMasks", "row-masks",
              "llm.attention masks rebuilt with one row">,
  ];
}

def LLMOuterProducts : Pass<"llm-outer-products"> {
  let summary = "rewrite products over one k as broadcast multiplies";
  let description = [{
    An `llm.matmul` over K = 1, `[.., M, 1] x [.., 1, N]`, is an outer
    product: the broadcast multiply `llm.mul` of its operands, which then
    fuses with the elementwise ops around it instead of being a product of
    its own (on the ptx target, a tensor-core launch that multiplies by
    zero-padded tiles). Hugging Face's rotary angles, `inv_freq [B, D/2, 1]
    @ position_ids [B, 1, T]`, are the usual case. A transposed operand
    (`[.., 1, M]` or `[.., N, 1]`) is transposed first; dynamic M, N and
    batch dims are kept. A product with an epilogue, or whose result
    element type differs from its operands', is left alone.

    The fusion pipeline runs it after `llm-fuse-attention`: an attention
    over a single key multiplies its probabilities by the values over one
    k, and the attention chain must still be a product when it is matched.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of rewrite">,
  ];
  let statistics = [
    Statistic<"numOuterProducts", "outer-products",
              "products over one k rewritten as broadcast multiplies">,
  ];
}

def LLMFuseNorms : Pass<"llm-fuse-norms"> {
  let summary = "fuse decomposed layer and RMS normalization into "
                "llm.layer_norm and llm.rms_norm";
  let description = [{
    Matches the normalization chains exporters write (torch.onnx before
    opset 17, Llama-style RMSNorm modules) and replaces each by one op:

    - layer norm: `d = x - reduce_mean(x)`, `v = reduce_mean(d * d)` (or
      `pow(d, 2)`), then `d / sqrt(v + eps)` or `d * r` with `r` one of
      `rsqrt(v + eps)`, `reciprocal(sqrt(v + eps))`, `1 / sqrt(v + eps)`
      becomes `llm.layer_norm` with a ones scale and no bias;
    - RMS norm: the same with `x` for `d` (no centering) becomes
      `llm.rms_norm` with a ones scale;
    - a following multiply by a tensor of the normalized dims' shape
      (leading unit dims are dropped by a reshape) becomes the scale of a
      norm whose scale is ones (and, for a layer norm, that has no bias
      yet); a following add of one becomes the bias of a layer norm.

    Every condition of the formula is checked: the exponent is exactly 2,
    the `1` exactly 1, eps a single-element float constant that converts to
    f32 exactly; both means keep dims and reduce the same trailing dims
    [axis, rank), whose sizes are static; the mean of `x` reduces `x`
    itself; nothing broadcasts beyond the input's type; and no
    intermediate has a user outside the chain (`d` is used only by the
    square and the division), so fusing never computes a value twice. A
    centered value that is not a layer norm is left alone, not fused as an
    RMS norm. Upcasts to f32 and back around an RMS norm stay: the norm is
    fused in f32 and a scale multiply after the downcast is not folded,
    since it rounds differently.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of rewrite">,
  ];
  let statistics = [
    Statistic<"numLayerNorms", "fused-layer-norms",
              "normalization chains fused into llm.layer_norm">,
    Statistic<"numRMSNorms", "fused-rms-norms",
              "normalization chains fused into llm.rms_norm">,
    Statistic<"numScales", "scales", "scale multiplies folded into a norm">,
    Statistic<"numBiases", "biases", "bias adds folded into llm.layer_norm">,
  ];
}

def LLMFuseActivations : Pass<"llm-fuse-activations"> {
  let summary = "fuse decomposed GELU and SiLU into llm.gelu and llm.silu";
  let description = [{
    Matches the activation formulas as exporters write them:

    - GELU: `0.5 * x * (1 + erf(x * 0.70710678))`, with `x / 1.41421356`
      for the erf argument, the three factors multiplied in any order and
      association (or `x * (1 + erf(..)) / 2`), becomes `llm.gelu`;
    - GELU, tanh approximation: the same product with
      `1 + tanh(0.79788456 * (x + 0.044715 * x^3))`, `x^3` being
      `pow(x, 3)` or `x * x * x` in either association, becomes
      `llm.gelu {approximation = tanh}`;
    - SiLU: `x * sigmoid(x)` in either operand order becomes `llm.silu`.

    Constants are single-element float tensors matched with a relative
    tolerance of 1e-6 (or one unit in the last place of a narrower element
    type); exponents must be exact. Every intermediate must have no other
    user and the result must have the type of `x`.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit one remark per run with the number of each kind of rewrite">,
  ];
  let statistics = [
    Statistic<"numGelus", "fused-gelus", "exact GELUs fused into llm.gelu">,
    Statistic<"numGeluTanhs", "fused-gelu-tanhs",
              "tanh-approximated GELUs fused into llm.gelu">,
    Statistic<"numSilus", "fused-silus", "SiLUs fused into llm.silu">,
  ];
}

def LLMComputeInF32 : Pass<"llm-compute-in-f32"> {
  let summary = "compute 16-bit float products, reductions, norms and "
                "compound activations in f32";
  let description = [{
    The lowering of an op computes in its element type. For f16 and bf16
    that is right for an op of one rounding step (an add, an exp), but not
    for a product or a reduction: a bf16 dot product over K = 4096 summed in
    bf16 is off by about 10 %, and a softmax over 4096 keys by more. torch,
    cuBLAS and the ptx kernels accumulate in f32.

    This pass gives each such op f32 operands and an f32 result: every f16
    or bf16 float operand is `llm.cast` to f32, and every f16 or bf16
    result is computed in f32 and cast back for its users. The ops are
    `matmul`, `gemm`, `attention`, `softmax`, `layer_norm`, `rms_norm`,
    `reduce_sum`, `reduce_mean`, `reduce_prod`, `sigmoid`, `silu` and `gelu`. Other
    ops keep their types. The host, hls and npu pipelines run it before
    lowering to linalg. The ptx pipeline runs it after the fused kernels,
    which already compute in f32, so it reaches only the ops they leave.

    ```mlir
    %y = llm.softmax %x {axis = 1 : i64} : tensor<4x4096xbf16>
    // becomes
    %0 = llm.cast %x : (tensor<4x4096xbf16>) -> tensor<4x4096xf32>
    %1 = llm.softmax %0 {axis = 1 : i64} : tensor<4x4096xf32>
    %y = llm.cast %1 : (tensor<4x4096xf32>) -> tensor<4x4096xbf16>
    ```
  }];
}

def LLMSetTarget : Pass<"llm-set-target", "ModuleOp"> {
  let summary = "attach a target description as the module attribute llm.target";
  let description = [{
    Loads `target` (a bundled description, `h100`, `u280`, `npu`, or a path
    to a JSON file of the same form, see `targets/`) and attaches it to the
    module as `llm.target`, a dictionary mirroring the JSON, which the passes
    that specialize for a target (`llm-tile`) read. An unknown name or an
    invalid file is an error naming the file and the field.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"\"",
           "a bundled description (h100, u280, npu) or a JSON file">,
  ];
}

def LLMTile : Pass<"llm-tile", "ModuleOp"> {
  let summary = "tile matmul, attention and norm ops for a target's on-chip "
                "memory and matrix unit";
  let description = [{
    Tiles `llm.matmul`, `llm.attention`, `llm.layer_norm`, `llm.rms_norm` and
    `llm.softmax` (through their TilingInterface, with `scf::tileUsingSCF`)
    into an `scf.forall` (or `scf.for`, `loop=for`) over tiles of their
    parallel dims; each tile is the same op on tensor slices, so the tiled IR
    lowers (and computes) exactly as before. The reduction dims stay whole
    at this level: a matmul's K block and an attention's key block are
    recorded for the backends, which run them as the inner loop (the matmul
    epilogue must see the full sum; the online softmax is the backend's).
    Each tiled op carries its decision as `llm.tile`:
    `{target, dtype, sizes (per iteration-domain dim; the full extent where
    it is not tiled), k_block | kv_block, tiles, footprint_bytes, intensity
    (flop per byte of off-chip traffic), estimated_s, fits}`.

    The target is `llm.target` on the module (`llm-set-target`) or the
    `target` option. Tile sizes come from an analytical model:

    - compute type: a float op runs at the target's bf16 (else fp16, else
      fp32) matrix rate, an integer op at int8; inputs take that type's
      bytes, accumulators 4 bytes (fp32 / int32).
    - candidates: each tiled dim's divisors that are multiples of the
      matrix unit's granule for it ([m, n, k] of `matrix_unit`; M and query
      rows by m, N and key blocks by n, K by k), and the whole dim. Tiles
      divide the dims, so every tile has a static shape.
    - it must fit: the double-buffered input tiles plus the accumulator
      tile are at most `on_chip_bytes` (matmul: 2 (tm tk + tk tn) b +
      4 tm tn; attention: tq D b + 2 tkv (D + Dv) b + 4 tq (tkv + Dv + 2);
      norms: (3 rows + P) E b for E normalized elements and P scale/bias
      tensors); on an NPU the accumulator tile (4 tm tn; 4 tq (tkv + Dv))
      is at most `npu.accumulator_bytes`. If nothing fits, the smallest tile is taken,
      with a warning and `fits = false`.
    - cost: a tile runs on one compute unit; with T tiles on U units the
      utilization is T / (ceil(T / U) U). The estimated time is
      max(flops / rate, traffic / bandwidth) / utilization (the rate is
      `matrix_ops_per_s` of the compute type, `vector_ops_per_s` for norms),
      where traffic counts the off-chip bytes the tiling implies (a matmul
      reads A once per column of tiles and B once per row of tiles; an
      attention reads K and V once per query tile), and flops are padded
      to the granule.
    - choice: the least estimated time; among equal times (within 5%) the
      highest arithmetic intensity (reuse), then the largest K / key block
      (fewest inner steps), then the squarest and largest tile.

    So a GPU (many units, small shared memory) gets many medium tiles, an
    FPGA (one unit, megabytes of BRAM) few large ones, and the NPU tiles
    bounded by its accumulators. `matmul-tile-sizes=M,N,K`,
    `attention-tile-sizes=Q,KV` and `norm-tile-sizes=R` (rows of the
    innermost parallel dim; layer_norm, rms_norm, softmax) override the
    model; a size at least the dim takes it whole; a size that is not
    positive or does not divide its dim is an error. Batch dims (and heads)
    are tiled by 1. A row tile of causal attention becomes non-causal with
    the tile's causal pattern as an i1 mask (and-ed with its i1 mask);
    causal attention with a float mask keeps its rows whole (a row override
    is ignored there, with a warning). Ops with dynamic or empty shapes,
    or already carrying `llm.tile`, are left alone.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"\"",
           "a target description to use instead of the module's llm.target">,
    ListOption<"matmulTileSizes", "matmul-tile-sizes", "int64_t",
               "M,N,K tile of every llm.matmul (overrides the model)">,
    ListOption<"attentionTileSizes", "attention-tile-sizes", "int64_t",
               "query rows, key block of every llm.attention">,
    ListOption<"normTileSizes", "norm-tile-sizes", "int64_t",
               "rows of layer_norm, rms_norm and softmax tiles">,
    Option<"loop", "loop", "std::string", /*default=*/"\"forall\"",
           "the tile loop: forall (parallel) or for">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit a remark per op with the tiles chosen and why">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def LLMQuantize : Pass<"llm-quantize", "ModuleOp"> {
  let summary = "quantize constant weights (and activations) of matmuls and "
                "embedding tables";
  let description = [{
    Rewrites every `llm.matmul` whose rhs is a constant f32 weight (and lhs
    is not transposed) and every `llm.gather` along axis 0 of a constant
    f32 table (an embedding). Weights are stored as rows `[N, K]` (a
    `[K, N]` weight is transposed at compile time and the op reads it with
    `transpose_rhs`), so a tied LM head and its embedding table, which hold
    the same rows, share one quantized blob. New weights are new
    dense_resource blobs: i8, or two 4-bit values per byte, with f32 scales.
    A batched weight `[B.., K, N]` (a mixture of experts' experts) is
    quantized per batch entry and row: `[B.., N, K]` with scales
    `[B.., N, groups]` (per-channel output scales `[B.., 1, N]` in the W8A8
    modes), and a gathered table of rank 3 or more (a decoding step's
    experts, `[E, N, K]` gathered per token) per row of its last dim, the
    gather reading bytes and scales (counted as `gathered_weights`); in
    int8 mode a product of such gathered experts (read transposed)
    multiplies the gathered bytes, dequantized by the activation scale
    times the gathered scales as rows `[.., 1, N]`.

    - `mode=w8`: per-row (per output channel) symmetric int8, RTN:
      `s = max|w| / 127`, `q = clamp(roundeven(w / s), -127, 127)`; the op
      reads `llm.dequantize(q, s)`.
    - `mode=w4`: per-row groups of `group-size` along K (the last group may
      be shorter), `s = max|w| / 7`, `q` in [-7, 7], packed two per byte
      (`llm.dequantize {bits = 4, block_size = group-size}`).
    - `mode=int8` (W8A8): weights as w8; the activation is quantized to i8
      (`activations=static`: one scale per tensor, `clip / 127`, where
      `clip` is the calibrated maximum of |x| (`calibration=minmax`, from
      `llm.act_absmax`, the per-input-channel maxima) or its percentile
      (`calibration=percentile`, from `llm.act_percentile`); `dynamic`: one
      scale per token, `max(max|x|, 1e-30) / 127` over the last dim at run
      time); `llm.qmatmul` accumulates in i32 and `llm.dequantize` applies
      the product of the scales. The matmul's epilogue follows as
      elementwise ops (the scale is folded into the dequantization).
      Embedding tables are stored as w8.
    - `mode=fp8` (FP8 W8A8, for GPUs with FP8 tensor cores): as int8, with
      E4M3 bytes (`llm.quantize {e4m3}`, `llm.qmatmul {e4m3}` accumulating
      in f32) and scales `max / 448` (weights per row, activations static
      or dynamic as above). Embedding tables are stored as w8.
    - `smoothquant=ALPHA` (0 = off; int8 only) migrates activation outliers
      into the weights first: per input channel k,
      `f_k = max|x_k|^ALPHA / max_n |w_nk|^(1-ALPHA)`, x is multiplied by
      `1 / f` and w by `f` (needs `llm.act_absmax`). With percentile
      calibration the clip is the smoothed maximum times the ratio of the
      percentile to the unsmoothed maximum.

    - `weights=gptq` (int8, w8, w4) chooses a matmul's integer weights by
      GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for
      Generative Pre-trained Transformers", 2023) instead of rounding each
      to nearest: with H = XᵀX of the calibration inputs (`llm.act_gram`)
      plus `gptq-damp` times its mean diagonal, the input channels are
      quantized one at a time, and each one's rounding error is spread
      over the channels left, weighted by the upper Cholesky factor of
      H^-1, so that the product changes least on those inputs. With
      `gptq-act-order` (the default) the channels go by decreasing H
      diagonal, the largest inputs first, and every group's scales are
      RTN's of the weights as given ("static groups": the stored layout is
      unchanged); with `gptq-act-order=false` they go first to last and a
      group's scales are RTN's of the weights updated so far. Input
      channels the calibration never reached (a zero diagonal) get zero
      weights, as in the paper's code. A matmul without `llm.act_gram` (or
      with one of zeros), an embedding or gathered experts keep RTN; a
      matrix whose factorization fails keeps RTN with a warning.

    The calibration statistics are discardable attributes the driver puts on
    the matmuls (`llm.act_absmax`: array<f32> of K, `llm.act_percentile`:
    f32, `llm.act_gram`: tensor<KxKxf32>). The pass records what it did in
    the module attribute `llm.quantization` (mode, counts of matmuls and
    embeddings quantized, the weights' method and, with gptq, its order
    and how many weights GPTQ quantized and how many it left to RTN).
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"int8\"",
           "int8, fp8, w8 or w4">,
    Option<"activations", "activations", "std::string", /*default=*/"\"static\"",
           "int8 activation scales: static (calibrated, per tensor) or "
           "dynamic (per token at run time)">,
    Option<"calibration", "calibration", "std::string",
           /*default=*/"\"minmax\"", "static scales from minmax or percentile">,
    Option<"smoothQuant", "smoothquant", "double", /*default=*/"0.0",
           "SmoothQuant migration strength alpha in [0, 1]; 0 is off">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "w4 group size along K">,
    Option<"weights", "weights", "std::string", /*default=*/"\"rtn\"",
           "how integer weights are chosen: rtn (round to nearest) or gptq "
           "(error-compensating, from llm.act_gram)">,
    Option<"gptqDamp", "gptq-damp", "double", /*default=*/"0.01",
           "GPTQ's damping: this fraction of the Gram matrix's mean "
           "diagonal is added to its diagonal">,
    Option<"gptqActOrder", "gptq-act-order", "bool", /*default=*/"true",
           "GPTQ quantizes input channels by decreasing activation energy "
           "(the Gram matrix's diagonal), with static group scales; false: "
           "first to last">,
  ];
}

#endif // LLM_TRANSFORMS_PASSES_TD
