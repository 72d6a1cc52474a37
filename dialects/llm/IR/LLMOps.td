//===- LLMOps.td - ops of the llm dialect ------------------*- tablegen -*-===//
//
// Every op is pure and works on ranked tensors. Ops whose result type follows
// from their operands and attributes implement InferTypeOpInterface; ops whose
// result shape is data (reshape, expand, cast) carry it in their result type.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_OPS_TD
#define LLM_OPS_TD

include "llm/IR/LLMDialect.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def LLM_Tensor : RankedTensorOf<[AnyType]>;
def LLM_FloatTensor : RankedTensorOf<[AnyFloat]>;
def LLM_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def LLM_BoolTensor : RankedTensorOf<[I1]>;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def LLM_ConstantOp : LLM_Op<"constant",
    [Pure, ConstantLike, AllTypesMatch<["value", "result"]>]> {
  let summary = "a constant tensor (weights are dense_resource blobs)";
  let arguments = (ins ElementsAttr:$value);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise ops (numpy broadcasting)
//===----------------------------------------------------------------------===//

class LLM_BinaryOp<string mnemonic, Type operandType, list<Trait> traits = []>
    : LLM_Op<mnemonic, !listconcat([Pure, SameOperandsElementType,
                                    InferTypeOpAdaptor], traits)> {
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

class LLM_ArithmeticOp<string mnemonic, list<Trait> traits = []>
    : LLM_BinaryOp<mnemonic, LLM_Tensor,
                   !listconcat([SameOperandsAndResultElementType], traits)> {
  let summary = "elementwise " # mnemonic # " with broadcasting";
}

def LLM_AddOp : LLM_ArithmeticOp<"add", [Commutative]>;
def LLM_SubOp : LLM_ArithmeticOp<"sub"> { let hasCanonicalizer = 1; }
def LLM_MulOp : LLM_ArithmeticOp<"mul", [Commutative]> {
  let hasCanonicalizer = 1;
}
def LLM_DivOp : LLM_ArithmeticOp<"div"> {
  let description = "Integer division truncates toward zero, as ONNX's Div.";
}
def LLM_PowOp : LLM_ArithmeticOp<"pow">;
def LLM_MaxOp : LLM_ArithmeticOp<"max", [Commutative]>;
def LLM_MinOp : LLM_ArithmeticOp<"min", [Commutative]>;
def LLM_ModOp : LLM_ArithmeticOp<"mod"> {
  let description = "Integer remainder with the sign of the divisor (ONNX Mod, fmod=0).";
}

class LLM_CompareOp<string mnemonic, list<Trait> traits = []>
    : LLM_BinaryOp<mnemonic, LLM_Tensor, traits> {
  let summary = "elementwise comparison " # mnemonic # "; the result is i1";
}

def LLM_EqualOp : LLM_CompareOp<"equal", [Commutative]>;
def LLM_LessOp : LLM_CompareOp<"less">;
def LLM_LessEqualOp : LLM_CompareOp<"less_equal">;
def LLM_GreaterOp : LLM_CompareOp<"greater">;
def LLM_GreaterEqualOp : LLM_CompareOp<"greater_equal">;

class LLM_LogicalOp<string mnemonic>
    : LLM_BinaryOp<mnemonic, LLM_IntTensor,
                   [Commutative, SameOperandsAndResultElementType]> {
  let summary = "elementwise " # mnemonic #
                ": logical on i1, bitwise on wider integers";
}

def LLM_AndOp : LLM_LogicalOp<"and">;
def LLM_OrOp : LLM_LogicalOp<"or">;
def LLM_XorOp : LLM_LogicalOp<"xor">;

class LLM_ShiftOp<string mnemonic, string direction>
    : LLM_BinaryOp<mnemonic, LLM_IntTensor, [SameOperandsAndResultElementType]> {
  let summary = "elementwise " # direction # " shift of unsigned integers";
  let description = "Shifts each element of `lhs` " # direction # " by the "
      # "matching element of `rhs`, both read as unsigned integers (ONNX "
      # "BitShift); a shift by the bit width or more gives 0.";
}

def LLM_ShiftLeftOp : LLM_ShiftOp<"shift_left", "left">;
def LLM_ShiftRightOp : LLM_ShiftOp<"shift_right", "right (logical)">;

class LLM_UnaryOp<string mnemonic, Type operandType, list<Trait> traits = []>
    : LLM_Op<mnemonic, !listconcat([Pure, SameOperandsAndResultType],
                                   traits)> {
  let summary = "elementwise " # mnemonic;
  let arguments = (ins operandType:$input);
  let results = (outs operandType:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def LLM_ExpOp : LLM_UnaryOp<"exp", LLM_FloatTensor>;
def LLM_LogOp : LLM_UnaryOp<"log", LLM_FloatTensor>;
def LLM_TanhOp : LLM_UnaryOp<"tanh", LLM_FloatTensor>;
def LLM_ErfOp : LLM_UnaryOp<"erf", LLM_FloatTensor>;
def LLM_SqrtOp : LLM_UnaryOp<"sqrt", LLM_FloatTensor>;
def LLM_RsqrtOp : LLM_UnaryOp<"rsqrt", LLM_FloatTensor>;
def LLM_SigmoidOp : LLM_UnaryOp<"sigmoid", LLM_FloatTensor>;
def LLM_ReciprocalOp : LLM_UnaryOp<"reciprocal", LLM_FloatTensor>;
def LLM_SinOp : LLM_UnaryOp<"sin", LLM_FloatTensor>;
def LLM_CosOp : LLM_UnaryOp<"cos", LLM_FloatTensor>;
def LLM_FloorOp : LLM_UnaryOp<"floor", LLM_FloatTensor>;
def LLM_CeilOp : LLM_UnaryOp<"ceil", LLM_FloatTensor>;
def LLM_ReluOp : LLM_UnaryOp<"relu", LLM_Tensor>;
def LLM_NegOp : LLM_UnaryOp<"neg", LLM_Tensor> { let hasFolder = 1; }
def LLM_AbsOp : LLM_UnaryOp<"abs", LLM_Tensor>;
def LLM_NotOp : LLM_UnaryOp<"not", LLM_IntTensor> {
  let summary = "elementwise not: logical on i1, bitwise on wider integers";
  let hasFolder = 1;
}
def LLM_SiluOp : LLM_UnaryOp<"silu", LLM_FloatTensor> {
  let description = "x * sigmoid(x)";
}
def LLM_GeluOp : LLM_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "GELU, exact (erf) or with the tanh approximation";
  let arguments = (ins LLM_FloatTensor:$input,
      DefaultValuedAttr<LLM_GeluApproximationAttr,
                        "::mlir::llm::GeluApproximation::none">:$approximation);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def LLM_WhereOp : LLM_Op<"where", [Pure, InferTypeOpAdaptor]> {
  let summary = "select elementwise: condition ? true_value : false_value";
  let arguments = (ins LLM_BoolTensor:$condition, LLM_Tensor:$true_value,
                       LLM_Tensor:$false_value);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $condition `,` $true_value `,` $false_value attr-dict `:`
    functional-type(operands, results)
  }];
  let hasFolder = 1;
}

def LLM_CastOp : LLM_Op<"cast", [Pure]> {
  let summary = "convert the element type; the shape stays";
  let description = [{
    Float to integer truncates toward zero; integer to i1 is `x != 0`; as
    ONNX's Cast.
  }];
  let arguments = (ins LLM_Tensor:$input);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def LLM_TriluOp : LLM_Op<"trilu", [Pure, SameOperandsAndResultType]> {
  let summary = "keep the upper or lower triangle of the last two dims";
  let description = [{
    Elements outside the triangle become zero. `diagonal` shifts it: with
    `upper`, keep j - i >= diagonal; otherwise keep j - i <= diagonal.
  }];
  let arguments = (ins LLM_Tensor:$input, BoolAttr:$upper,
                       DefaultValuedAttr<I64Attr, "0">:$diagonal);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and transformer blocks
//===----------------------------------------------------------------------===//

def LLM_Activation : I32EnumAttr<"Activation",
    "the activation of a matmul epilogue", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"relu", 1>,
      I32EnumAttrCase<"gelu", 2>,
      I32EnumAttrCase<"gelu_tanh", 3>,
      I32EnumAttrCase<"silu", 4>
    ]> {
  let cppNamespace = "::mlir::llm";
  let genSpecializedAttr = 0;
}

def LLM_ActivationAttr : EnumAttr<LLM_Dialect, LLM_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def LLM_MatMulOp : LLM_Op<"matmul", [Pure, SameOperandsElementType,
                                     AttrSizedOperandSegments,
                                     InferTypeOpAdaptor]> {
  let summary = "batched matrix product with broadcast batch dims and an "
                "optional epilogue";
  let description = [{
    Both operands have rank >= 2: the last two dims are the matrix, leading
    dims broadcast. `transpose_lhs`/`transpose_rhs` swap the last two dims of
    that operand first, so `[.., N, K]` weights need no explicit transpose.

    The epilogue is applied elementwise to the product, in this order:
    `act(scale * (lhs x rhs) + bias) + residual`. `bias` and `residual`
    broadcast to the result; `activation` is the scalar function of
    `llm.relu`, `llm.gelu` (exact or tanh) or `llm.silu`. Without them the op
    is the plain product.
  }];
  let arguments = (ins LLM_Tensor:$lhs, LLM_Tensor:$rhs,
                       Optional<LLM_Tensor>:$bias,
                       Optional<LLM_Tensor>:$residual,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs,
                       DefaultValuedAttr<F32Attr, "1.0">:$scale,
                       DefaultValuedAttr<LLM_ActivationAttr,
                                         "::mlir::llm::Activation::none">:$activation);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`bias` $bias^)? (`residual` $residual^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// True if the op carries any epilogue beyond the plain product.
    bool hasEpilogue() {
      return getBias() || getResidual() || getScale().convertToDouble() != 1.0 ||
             getActivation() != ::mlir::llm::Activation::none;
    }
  }];
  let hasVerifier = 1;
}

def LLM_GemmOp : LLM_Op<"gemm", [Pure,
                                 InferTypeOpAdaptor]> {
  let summary = "alpha * op(a) * op(b) + beta * c, on 2-D operands (ONNX Gemm)";
  let arguments = (ins LLM_Tensor:$a, LLM_Tensor:$b, Optional<LLM_Tensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_a,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_b);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? attr-dict `:` functional-type(operands, results)
  }];
}

def LLM_SoftmaxOp : LLM_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let arguments = (ins LLM_FloatTensor:$input, I64Attr:$axis);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_AttentionOp : LLM_Op<"attention", [Pure, InferTypeOpAdaptor,
                                           AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention with grouped kv heads";
  let description = [{
    `softmax(query x key^T * scale + mask) x value` over the last two dims:

    - `query` [B..., Hq, Sq, D], `key` [B..., Hkv, Sk, D],
      `value` [B..., Hkv, Sk, Dv], result [B..., Hq, Sq, Dv]. The batch dims
      B... (zero or more) are equal in all three.
    - Grouped-query attention: Hq is a multiple of Hkv and query head h
      reads kv head `h floordiv (Hq / Hkv)` (Hq == Hkv is multi-head
      attention, Hkv == 1 multi-query attention).
    - `mask`, optional, broadcasts (numpy-style, without growing) to the
      scores [B..., Hq, Sq, Sk]. An i1 mask says which keys a query attends
      (true = attend; a false score becomes -inf); a float mask of the
      query's element type is added to the scaled scores.
    - `causal` additionally masks key j for query i when
      `j > i + (Sk - Sq)`: the diagonal is aligned to the bottom-right corner,
      so the last query sees every key (the usual rule when Sq new queries
      follow Sk - Sq cached keys; with Sq == Sk it is the lower triangle).
    - `window` W (requires `causal`) is sliding-window attention (Mistral,
      Gemma 2, Phi-3, ONNX Runtime's `local_window_size`): it also masks key
      j for query i when `j <= i + (Sk - Sq) - W`, so that each query sees
      at most the W keys that end at its diagonal.
    - `softcap` c > 0 (Gemma 2's attention logit soft-capping, ONNX's and
      ONNX Runtime's `softcap`) caps the scaled scores to
      `c * tanh(score / c)` before the mask is applied.
    - `sink` [Hq], optional (gpt-oss's attention sinks, ONNX Runtime's
      `head_sink`; zeros for its `smooth_softmax`): one more logit per query
      head in each row's softmax, which weighs no value: key j gets
      `exp(s_j - m) / (sum_k exp(s_k - m) + exp(sink_h - m))`, m the maximum
      of the row's scores and the sink.

    Softmax runs over Sk and subtracts the row maximum first. A row in which
    every score is -inf (fully masked: all mask entries false or -inf, or
    causal with Sq > Sk for the first Sq - Sk rows) has no defined softmax;
    its result is zeros, as fused kernels (FlashAttention) give, not the NaN
    of an unfused `softmax` of -inf scores (with a sink it is zeros too: all
    weight goes to the sink).

    `weights_scale` s, when present, quantizes and dequantizes the softmax
    weights w (normalized, after the sink) before they multiply the values,
    as `llm.quantize` and `llm.dequantize` with that scalar scale and
    `weights_zero_point` z would (ONNX Runtime's quantize_static QDQ and
    ModelOpt's FP8 MHA put a QuantizeLinear/DequantizeLinear pair between
    Softmax and the P·V MatMul):

      w' = (clamp(roundeven(w / s) + z, lo, hi) - z) * s

    with [lo, hi] = [-128, 127], or [0, 255] with `weights_unsigned`; with
    `weights_e4m3` w' = e4m3(w / s) * s (round to nearest even, saturating
    at 448; z is 0).
  }];
  let arguments = (ins LLM_FloatTensor:$query, LLM_FloatTensor:$key,
                       LLM_FloatTensor:$value, Optional<LLM_Tensor>:$mask,
                       Optional<LLM_FloatTensor>:$sink, F32Attr:$scale,
                       DefaultValuedAttr<BoolAttr, "false">:$causal,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$window,
                       OptionalAttr<F32Attr>:$softcap,
                       OptionalAttr<F32Attr>:$weights_scale,
                       DefaultValuedAttr<I64Attr, "0">:$weights_zero_point,
                       UnitAttr:$weights_unsigned, UnitAttr:$weights_e4m3);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` $mask^)? (`sink` `(` $sink^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LLM_LayerNormOp : LLM_Op<"layer_norm", [Pure]> {
  let summary = "layer normalization over the dims from `axis` to the last";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, mean and (biased)
    variance taken over dims [axis, rank). `scale` and `bias` have the shape
    of those dims.
  }];
  let arguments = (ins LLM_FloatTensor:$input, LLM_FloatTensor:$scale,
                       Optional<LLM_FloatTensor>:$bias, I64Attr:$axis,
                       F32Attr:$epsilon);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LLM_RMSNormOp : LLM_Op<"rms_norm", [Pure]> {
  let summary = "RMS normalization over the dims from `axis` to the last";
  let description = "`x / sqrt(mean(x^2) + epsilon) * scale`.";
  let arguments = (ins LLM_FloatTensor:$input, LLM_FloatTensor:$scale,
                       I64Attr:$axis, F32Attr:$epsilon);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $scale attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class LLM_ReduceOp<string mnemonic>
    : LLM_Op<mnemonic, [Pure, SameOperandsAndResultElementType,
                        InferTypeOpAdaptor]> {
  let summary = "reduce (" # mnemonic # ") over `axes`";
  let arguments = (ins LLM_Tensor:$input, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def LLM_ReduceSumOp : LLM_ReduceOp<"reduce_sum">;
def LLM_ReduceMeanOp : LLM_ReduceOp<"reduce_mean">;
def LLM_ReduceMaxOp : LLM_ReduceOp<"reduce_max">;
def LLM_ReduceMinOp : LLM_ReduceOp<"reduce_min">;
def LLM_ReduceProdOp : LLM_ReduceOp<"reduce_prod">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def LLM_ReshapeOp : LLM_Op<"reshape", [Pure]> {
  let summary = "reinterpret the shape; the element count stays";
  let arguments = (ins LLM_Tensor:$input);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def LLM_ExpandOp : LLM_Op<"expand", [Pure]> {
  let summary = "broadcast to the result shape (ONNX Expand)";
  let arguments = (ins LLM_Tensor:$input);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def LLM_TransposeOp : LLM_Op<"transpose", [Pure, SameOperandsAndResultElementType,
                                           InferTypeOpAdaptor]> {
  let summary = "permute dims: result dim i is input dim permutation[i]";
  let arguments = (ins LLM_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def LLM_ConcatOp : LLM_Op<"concat", [Pure, SameOperandsAndResultElementType,
                                     InferTypeOpAdaptor]> {
  let summary = "concatenate along `axis`";
  let arguments = (ins Variadic<LLM_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def LLM_SliceOp : LLM_Op<"slice", [Pure, SameOperandsAndResultElementType,
                                   InferTypeOpAdaptor]> {
  let summary = "strided slice with one normalized start/end/step per dim";
  let description = [{
    For each dim: indices start, start + step, ... while before `end` (step
    may be negative). Bounds are normalized by whoever builds the op: for a
    positive step, 0 <= start <= end <= dim; for a negative step,
    -1 <= end <= start < dim.
  }];
  let arguments = (ins LLM_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$ends, DenseI64ArrayAttr:$steps);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def LLM_SplitOp : LLM_Op<"split", [Pure, SameOperandsAndResultElementType,
                                   InferTypeOpAdaptor]> {
  let summary = "split along `axis` into pieces of the given sizes";
  let arguments = (ins LLM_Tensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<LLM_Tensor>:$results);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def LLM_GatherOp : LLM_Op<"gather", [Pure, InferTypeOpAdaptor]> {
  let summary = "take slices of `data` along `axis` at `indices` (ONNX Gather)";
  let description = [{
    Result shape: data[:axis] ++ indices ++ data[axis+1:]. Negative indices
    count from the end; an index out of range reads a clamped element at run
    time (the host path never reads outside the tensor).
  }];
  let arguments = (ins LLM_Tensor:$data, LLM_IntTensor:$indices, I64Attr:$axis);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat =
      "$data `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def LLM_QuantizeOp : LLM_Op<"quantize", [Pure]> {
  let summary = "float to 8- or 16-bit integers: saturate(round(x / scale) + "
                "zero_point)";
  let description = [{
    Quantization parameters are operands, not attributes: ONNX gives them as
    tensors (sometimes graph inputs, or computed, as DynamicQuantizeLinear
    does), and per-token scales are computed at run time. `scale` (f32) and
    `zero_point` (the result's element type, optional, 0 when absent)
    broadcast numpy-style to the
    input without growing it: a one-element scale is per-tensor, a
    `[1, ..., C, ..., 1]` scale is per-axis, `[..., M, 1]` is per-token.

    Exact semantics (the reference every backend reproduces bit for bit),
    per element, in f32:

      v = roundeven(x / scale)            // IEEE f32 division, ties to even
      q = clamp(v + zero_point, lo, hi)   // saturate; NaN becomes lo

    where [lo, hi] = [-128, 127] for signed and [0, 255] with `is_unsigned`
    (the i8 then holds the unsigned byte); an i16 result (16-bit QDQ, e.g.
    the A16W8 models of ONNX Runtime's and Qualcomm's quantizers) has
    [-32768, 32767], or [0, 65535] with `is_unsigned`. Integers are
    signless in llm: the flag says how the bits are read, as arith's
    extsi/extui do.

    `e4m3`: the i8 holds the bits of an 8-bit float (OCP FP8 E4M3, MLIR's
    f8E4M3FN: bias 7, no infinities, 0x7F/0xFF NaN, largest finite 448)
    instead of an integer, as cvt.rn.satfinite.e4m3x2.f32 writes them:

      v = x / scale                       // IEEE f32 division
      q = e4m3(v)                         // round to nearest even; |v| above
                                          // 448 (and ±inf) saturates to ±448,
                                          // NaN becomes 0x7F

    No zero_point, not `is_unsigned`, an i8 result.
  }];
  let arguments = (ins LLM_FloatTensor:$input, RankedTensorOf<[F32]>:$scale,
                       Optional<RankedTensorOf<[I8, I16]>>:$zero_point,
                       UnitAttr:$is_unsigned, UnitAttr:$e4m3);
  let results = (outs RankedTensorOf<[I8, I16]>:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LLM_DequantizeOp : LLM_Op<"dequantize", [Pure]> {
  let summary = "integers to f32: (x - zero_point) * scale, optionally packed "
                "int4 with per-group scales";
  let description = [{
    `y = f32(x - zero_point) * scale`: the difference is taken exactly in
    i32, converted to f32 (round to nearest even, exact below 2^24) and
    multiplied once in f32. `scale` (f32) and `zero_point` (the input's
    element type, optional) broadcast numpy-style to the result. The input
    is i8 (`is_unsigned`: read as 0..255), i16 (`is_unsigned`: 0..65535;
    16-bit QDQ activations, bits 8 only) or i32 (an accumulator of
    `llm.qmatmul`).

    `bits = 4`: the i8 input packs two 4-bit values per byte along the last
    dim, element k in byte k / 2, the low nibble first (k even); the input's
    last dim is ceil(D / 2) for a result's D. Nibbles are two's complement
    (-8..7), or 0..15 with `is_unsigned`.

    `block_size = B > 0`: scales (and zero points) are per block of B
    consecutive elements along the last dim: their last dim is ceil(D / B)
    and element k reads index k / B there; other dims broadcast as usual.
    Weight-only w4 quantization uses `bits = 4, block_size = 128` with
    `[N, K/128]` scales.

    An f32 input (the accumulator of an `e4m3` `llm.qmatmul`) is multiplied
    by the scale: `y = x * scale`, with no zero point, bits 8.

    `e4m3`: the i8 input holds the bits of an 8-bit float (OCP FP8 E4M3, as
    `llm.quantize`'s `e4m3` writes them; ONNX's FLOAT8E4M3FN) and
    `y = e4m3(x) * scale`: the byte's value (exact in f32; 0x7F and 0xFF are
    NaN) times the scale once in f32. No zero_point, not `is_unsigned`,
    bits 8, no blocks.
  }];
  let arguments = (ins RankedTensorOf<[I8, I16, I32, F32]>:$input,
                       RankedTensorOf<[F32]>:$scale,
                       Optional<RankedTensorOf<[I8, I16, I32]>>:$zero_point,
                       UnitAttr:$is_unsigned,
                       DefaultValuedAttr<I64Attr, "8">:$bits,
                       DefaultValuedAttr<I64Attr, "0">:$block_size,
                       UnitAttr:$e4m3);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LLM_QMatMulOp : LLM_Op<"qmatmul", [Pure, AttrSizedOperandSegments,
                                       InferTypeOpAdaptor]> {
  let summary = "integer matrix product: i8 x i8 accumulated exactly in i32";
  let description = [{
    `result[.., m, n] = sum_k (lhs[.., m, k] - lhs_zero_point) *
    (rhs[.., k, n] - rhs_zero_point)`, every term and the sum in i32
    (wrapping on overflow, which needs K > 2^15 with 8-bit inputs). The
    shapes follow `llm.matmul` (rank >= 2, broadcast batch dims,
    `transpose_rhs` reads `[.., N, K]`). Zero points are i8, optional (0),
    and broadcast numpy-style to their operand as stored: a one-element
    tensor per tensor, `[M, 1]` per row of lhs, `[1, N]` (or `[N, 1]` with
    `transpose_rhs`) per column of rhs. `lhs_unsigned`/`rhs_unsigned` read
    that operand and its zero point as 0..255.

    This is the integer core of W8A8: `llm.quantize` the activations,
    `llm.qmatmul` with i8 weights, `llm.dequantize` the i32 accumulator with
    the product of the scales. Together they are the bit-exact reference
    for backends with an 8-bit MAC array.

    `e4m3`: both operands hold FP8 E4M3 bits (see `llm.quantize`) and the
    result is f32: `sum_k f32(lhs[.., m, k]) * f32(rhs[.., k, n])`. Every
    product is exact in f32; the sum is an f32 accumulation whose order a
    backend chooses (a tensor core's differs from a loop's), so backends
    agree to f32 rounding of the sum, not bit for bit. No zero points, no
    unsigned operands. This is the core of FP8 W8A8 on GPUs with FP8 tensor
    cores (sm_89 and later).
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$lhs, RankedTensorOf<[I8]>:$rhs,
                       Optional<RankedTensorOf<[I8]>>:$lhs_zero_point,
                       Optional<RankedTensorOf<[I8]>>:$rhs_zero_point,
                       UnitAttr:$lhs_unsigned, UnitAttr:$rhs_unsigned,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs,
                       UnitAttr:$e4m3);
  let results = (outs RankedTensorOf<[I32, F32]>:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`lhs_zero_point` $lhs_zero_point^)?
    (`rhs_zero_point` $rhs_zero_point^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // LLM_OPS_TD
