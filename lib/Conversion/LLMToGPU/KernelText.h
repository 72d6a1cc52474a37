//===- KernelText.h - generated gpu.func kernels for the ptx backend -*- C++
//-*-===//
//
// The hand-scheduled kernels of the ptx backend (tensor-core matmul with a
// fused epilogue, FlashAttention-style attention, row norms and softmax),
// generated as gpu-dialect text specialized to static shapes and parsed into
// the module's gpu.module. Register-resident tiles need fully unrolled code;
// generating it from C++ loops keeps the unrolling explicit and the emitted
// IR readable. Every buffer is a flat `memref<Nxf32>` (bare pointer at the
// kernel ABI); strides and broadcast (stride 0) are baked in.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_CONVERSION_LLMTOGPU_KERNELTEXT_H
#define LLMC_CONVERSION_LLMTOGPU_KERNELTEXT_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc::gpu_kernels {

/// Static shared memory of a block (`.shared` variables): at most 48 KiB.
/// Larger tiles come from dynamic shared memory, sized at launch.
constexpr int64_t kStaticSharedBytes = 48 * 1024;

/// One term of a batch offset: ((batchIndex / divisor) % size) * stride.
struct BatchTerm {
  int64_t divisor, size, stride;
};

/// Addressing of one operand: element (batch z, row r, col c) lives at
/// sum(batch terms of z) + r * rowStride + c * colStride.
struct Operand {
  int64_t elements = 0;
  std::vector<BatchTerm> batch;
  int64_t rowStride = 0, colStride = 0;
};

/// The zero points of an s8 product (MatMulSpec::offsets).
struct IntegerOffsets {
  bool lhsUnsigned = false, rhsUnsigned = false;
  std::optional<Operand> lhsZero, rhsZero;
  /// Whether the operand's effective zero point can be nonzero (its column
  /// or row sums are then needed).
  bool lhsShifted() const { return lhsUnsigned || lhsZero.has_value(); }
  bool rhsShifted() const { return rhsUnsigned || rhsZero.has_value(); }
};

enum class Activation { None, Relu, Gelu, GeluTanh, Silu };

/// A static 8-bit quantization of a kernel's f32 results (an llm.quantize
/// with constant per-tensor parameters that only the kernel feeds): the
/// kernel stores saturate(roundeven(v / scale) + zero) as i8, the host's
/// operations, or with `e4m3` the FP8 E4M3 byte of v / scale.
struct OutputQuantization {
  bool enabled = false;
  float scale = 1.0f;
  int64_t zero = 0;
  bool isUnsigned = false;
  bool e4m3 = false;
};

struct MatMulSpec {
  std::string name;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  Operand lhs, rhs;
  bool hasBias = false, hasResidual = false;
  Operand bias, residual;
  float scale = 1.0f;
  Activation activation = Activation::None;
  /// Block tile, and the warp tile each warp computes (warpM a multiple of
  /// 16, warpN of 8): the block has (tileM / warpM) * (tileN / warpN) warps.
  int64_t tileM = 64, tileN = 64, tileK = 32;
  int64_t warpM = 32, warpN = 32;
  /// Shared stages of the mma.sync and wgmma kernels: 2, or 3 and more when
  /// cp.async fills both operand tiles (wgmmaCopiesAsync): the products of one
  /// k tile then stay in flight (wgmma.wait_group 1) across the barrier that
  /// publishes the next k tile, and the copies of the S - 2 after it are in
  /// flight.
  int64_t stages = 2;
  /// "bf16" or "f16": the tensor-core input type (fp32 accumulation);
  /// "s8": 8-bit integer inputs (m16n8k32, exact i32 accumulation).
  /// "e4m3": FP8 E4M3 bytes (held as i8; m16n8k32, f32 accumulation).
  std::string mmaType = "bf16";
  /// Whether the tensor-core operands are bytes (s8 or FP8).
  bool byteOperands() const { return mmaType == "s8" || mmaType == "e4m3"; }
  /// Element type of the lhs buffer: "f32", "f16" (an f16 model's
  /// activations), or "i8" for s8 products.
  std::string lhsElement = "f32";
  /// Element type of the rhs buffer: "f32", "f16", "bf16" for a weight the
  /// runtime uploads rounded to bf16 (a weight buffer of format bf16), or
  /// "i8" for s8 products and for int8 weights dequantized in the kernel.
  std::string rhsElement = "f32";
  /// An int8 rhs (weight-only quantization) of a bf16/f16 product: element
  /// (k, n) is float(q) * rhsScale[n], rounded to the tensor-core type as it
  /// enters shared memory.
  bool hasRhsScale = false;
  int64_t rhsScaleElements = 0;
  /// With hasRhsScale and no block: the rhs bytes are FP8 E4M3 (an FP8
  /// weight-only product), element (k, n) e4m3(q) * rhsScale[n].
  bool rhsE4M3 = false;
  /// A 4-bit rhs (llm-quantize w4, MatMulNBits) of a bf16/f16 product, read
  /// [N, K] with K contiguous: byte (n, k / 2) holds elements k and k + 1
  /// (low nibble first). Element (n, k) is (q - zero[n, k / rhsBlock]) *
  /// rhsScale[n, k / rhsBlock]: signed nibbles without a zero point,
  /// unsigned ones with one (i8, `hasRhsZeroPoint`). With rhsBits 8 (an
  /// 8-bit MatMulNBits) byte (n, k) is element k, signed without a zero
  /// point, unsigned with one. 0: not blocked.
  int64_t rhsBlock = 0;
  int64_t rhsBits = 4;
  bool hasRhsZeroPoint = false;
  /// With hasRhsScale, the batch terms of a batched weight's scales and zero
  /// points (a mixture of experts' [E, N, K] bytes with [E, N, blocks]
  /// scales): those of batch z start at batchOffset(rhsParameters, z). No
  /// terms: one set for every batch entry.
  Operand rhsParameters;
  /// A rhs gathered along its batch (a decoding step's experts, each
  /// token's k of them: llm.gather of a [E, N, K] table by [T, k] indices):
  /// the rhs buffer is the table of `rhsTableEntries` matrices (and the
  /// scales and zero points tables of as many entries), and batch z reads
  /// matrix %rhsIndex[batchOffset(rhsEntries, z)] (i64; negative counts from
  /// the end, out of range is clamped, as llm.gather reads).
  bool hasRhsIndex = false;
  Operand rhsEntries;
  int64_t rhsTableEntries = 0;
  /// A norm over k before the product (a decoding step's norm before its
  /// projection; the GEMV kernel only): lhs is the norm's input x,
  /// %lhsNormScale its gain g and %lhsNormBias a LayerNorm's bias b (k
  /// elements of `lhsNormElement` each). Each warp first takes each row's
  /// statistics from x (a LayerNorm's mean, then the mean square about it;
  /// an RMS norm's mean square), then multiplies ((x - mean) * inv) * g
  /// (+ b), inv = 1 / sqrt(variance + lhsNormEpsilon), rounded as an lhs
  /// is: the operand the norm's own kernel would have stored.
  enum class LhsNorm { None, RMS, Layer };
  /// A gated unit after the product: act(gate) * up of a merged gate and up
  /// projection. The weight (and a bias) has 2n columns, gate column
  /// j + gateOffset() and up column j + upOffset() (one half each); the
  /// kernel stores act(g) * u of the two columns' epilogue values (scale,
  /// bias), n of them a row. The GEMV kernel reads both columns in each
  /// warp. The tensor-core kernels (tiledGluApplies) compute 2n product
  /// columns, read interleaved by eights: product column c is gate column
  /// 8 (c / 16) + c % 8 where c % 16 < 8, else that up column, so each
  /// thread's accumulators of an 8-column tile of gate columns have their
  /// up columns' in the next tile. None: no gate.
  Activation glu = Activation::None;
  /// With glu: the gate is the weight's second half, the up its first.
  bool gluGateSecond = false;
  int64_t gateOffset() const { return gluGateSecond ? n : 0; }
  int64_t upOffset() const { return gluGateSecond ? 0 : n; }
  LhsNorm lhsNorm = LhsNorm::None;
  bool hasLhsNormBias = false;
  float lhsNormEpsilon = 0.0f;
  std::string lhsNormElement = "f32";
  /// Columns of the product: 2n with a gated unit (its gate and up halves).
  int64_t productColumns() const { return glu == Activation::None ? n : 2 * n; }
  /// Element type of the result: "f32" or "f16" (the epilogue computes in
  /// f32 and rounds), or "i32" for an s8 product stored as its exact
  /// accumulator (no epilogue).
  std::string outElement = "f32";
  /// Element types of the bias and residual buffers: "f32" or "f16".
  std::string biasElement = "f32", residualElement = "f32";
  /// An f32 epilogue's result quantized to i8 as it is stored.
  OutputQuantization quantizeOutput;
  /// Dequantization of an s8 product: the accumulator, converted to f32, is
  /// multiplied by each of these f32 operands (per-token and per-channel
  /// scales) before the rest of the epilogue.
  std::vector<Operand> scales;
  /// Asymmetric s8 products (llm.qmatmul with zero points or unsigned
  /// operands): an unsigned operand (0..255) enters the tensor cores less
  /// 128, and its zero point is read as unsigned less 128. The i8 zero points
  /// are addressed over the result like the scales: lhs per tensor or per row
  /// (colStride 0), rhs per tensor or per column (rowStride 0). The epilogue
  /// corrects the accumulator of the shifted operands a', b' with zero points
  /// za', zb': sum (a' - za')(b' - zb') = acc - za' colsum(b') - zb' rowsum(a')
  /// + K za' zb', the row and column sums taken by the tensor cores (products
  /// with a fragment of ones) along with the accumulator.
  IntegerOffsets offsets;
};

enum class MaskKind { None, Bool, Additive };

/// Where an attention operand's element (batch b, head h, row r, d) lies in
/// its buffer: offset + b * batchStride + h * headStride + r * rowStride +
/// d, in a buffer of `elements`. A default (elements 0) is the contiguous
/// [batch, heads, rows, d] tensor; a strided one is, say, a head's slice of
/// a fused qkv product's [batch, rows, 3 * heads * d] result, read without
/// the transposing copy.
struct AttentionLayout {
  int64_t elements = 0, offset = 0;
  int64_t batchStride = 0, headStride = 0, rowStride = 0;
  bool contiguous() const { return elements == 0; }
};

struct AttentionSpec {
  std::string name;
  /// Product of the batch dims; heads of the query and of key/value.
  int64_t batch = 1, queryHeads = 1, kvHeads = 1;
  int64_t seqQ = 0, seqK = 0, headDim = 0, valueDim = 0;
  float scale = 1.0f;
  bool causal = false;
  /// Sliding window (with causal): each query sees the `window` keys that
  /// end at its diagonal; 0 for none. Key blocks before a query block's
  /// first window are skipped.
  int64_t window = 0;
  /// Logit soft-capping c * tanh(score / c) before the mask; 0 for none.
  float softcap = 0.0f;
  /// A sink logit per query head (a [queryHeads] buffer of `element`).
  bool sink = false;
  MaskKind mask = MaskKind::None;
  /// Mask addressing over (batch*queryHeads index, query row, key col).
  Operand maskOperand;
  int64_t maskElements = 0;
  std::string mmaType = "bf16";
  /// Element type of query, key, value and output ("f32" or "f16", in f16
  /// models), and of an additive mask; the softmax is f32 either way.
  std::string element = "f32", maskElement = "f32";
  /// Shared memory a block may use (the target's per-block opt-in limit):
  /// K and V take two stages when they fit it, else one.
  int64_t sharedBudget = kStaticSharedBytes;
  /// llm.attention's weights_* quantization of the softmax weights (0: none):
  /// the kernel then takes two passes over the keys (row max and sum, then
  /// the quantized weights times V).
  float weightsScale = 0.0f;
  int64_t weightsZero = 0;
  bool weightsUnsigned = false, weightsE4M3 = false;
  /// Layouts of query, key, value and output (default: contiguous).
  AttentionLayout qLayout, kLayout, vLayout, oLayout;
  /// Key splits (FlashDecoding), for grids too small to fill the GPU: with
  /// more than one, block (x, y, z) takes the z-th of `splits` runs of its
  /// query block's key blocks and writes, instead of the output, each row's
  /// unnormalized output, running max (log2 units) and sum to %partial
  /// (attentionPartials floats, no sink counted); attentionCombineKernel
  /// merges them into %out. Online softmax only (weightsScale 0).
  int64_t splits = 1;
  /// Grouped-query heads packed into one query block (few query rows, as a
  /// decoding step has; groups * seqQ <= kAttentionBlockQ): block y takes
  /// one (batch, kv head), and its rows are the seqQ rows of each of that
  /// kv head's queryHeads / kvHeads query heads, so that each K and V block
  /// is read once per kv head instead of once per query head.
  bool packHeads = false;
  /// A decoding step's cache append, fused (0: none): the keys and values
  /// are llm.concat(past, new) along the keys, with `pastK` past rows.
  /// Rows [0, pastK) come from %key and %value (kLayout and vLayout over
  /// pastK rows), rows [pastK, seqK) from %key_new and %value_new
  /// (kNewLayout, vNewLayout over seqK - pastK rows), and the blocks of the
  /// last query block and of the first query head of each kv group write
  /// every row they read to %present_key and %present_value ([batch,
  /// kvHeads, seqK, d], contiguous): the past is read once, not copied
  /// into the present and read again. With a window, the writer's first
  /// split also copies the rows before its first window block, which no
  /// block reads.
  int64_t pastK = 0;
  AttentionLayout kNewLayout, vNewLayout;
  /// Whether anything reads the present keys and the present values (a
  /// present nothing reads is not written, nor a parameter).
  bool presentKey = true, presentValue = true;
  /// Both presents in one %present buffer [2, batch, kvHeads, seqK, d]:
  /// the keys, then the values (headDim == valueDim).
  bool stackedPresents = false;
};

/// Floats of an attention's %partial buffer (AttentionSpec::splits): per
/// split and query row, valueDim outputs, the max and the sum.
int64_t attentionPartials(const AttentionSpec &spec);
/// Threads of attentionCombineKernel's blocks (one block per query row).
int64_t attentionCombineThreads(const AttentionSpec &spec);

enum class RowKind { LayerNorm, RMSNorm, Softmax };

struct RowSpec {
  std::string name;
  RowKind kind = RowKind::Softmax;
  int64_t rows = 0, length = 0;
  /// Elements between consecutive ones of a row (softmax over a dim other
  /// than the last: the product of the dims after it); 1 for rows stored
  /// contiguously.
  int64_t inner = 1;
  /// Norm rows read in place from a wider tensor (a per-head norm of one
  /// part of a fused qkv product, [.., H * length] of [.., cols]): with
  /// groupRows > 0, row r starts at inputOffset + (r / groupRows) *
  /// groupStride + (r % groupRows) * length of an input of inputElements;
  /// the output is contiguous.
  int64_t groupRows = 0, groupStride = 0, inputOffset = 0, inputElements = 0;
  /// A second part of in-place norm rows (the k norm beside the q norm,
  /// both of one product): blocks rows .. rows + pairRows - 1 normalize its
  /// rows (pairGroupRows a group, from pairOffset) with %scale2 (and
  /// %bias2) into %out2. 0: one part.
  int64_t pairRows = 0, pairGroupRows = 0, pairOffset = 0;
  bool hasBias = false;
  float epsilon = 0.0f;
  /// Element type of input and output, and of scale and bias ("f32" or
  /// "f16"); the reductions are f32 either way.
  std::string element = "f32", paramElement = "f32";
  /// An f32 row's result quantized to i8 as it is stored.
  OutputQuantization quantizeOutput;
};

/// Dynamic int8 quantization of rows: scale = max(max|x|, epsilon) /
/// divisor per row, q = saturate(roundeven(x / scale)).
struct QuantizeRowsSpec {
  std::string name;
  int64_t rows = 0, length = 0;
  float epsilon = 0.0f, divisor = 127.0f;
  /// FP8 E4M3 bytes (llm.quantize's e4m3) instead of int8.
  bool e4m3 = false;
};

/// DynamicQuantizeLinear of a whole tensor (uint8, one scale and zero
/// point), in `blocks` blocks of kRowThreads, each quantizing its `chunk()`
/// of the elements. With more than one block, tensorMinMaxKernel first
/// writes each block's (min, max).
struct QuantizeTensorSpec {
  std::string name;
  int64_t elements = 0, blocks = 1;
  int64_t chunk() const { return (elements + blocks - 1) / blocks; }
};

/// Threads per block of each kernel (the launch must use the same).
int64_t matmulThreads(const MatMulSpec &spec);
/// The wgmma product: one warpgroup per 64 rows of the block tile.
int64_t wgmmaThreads(const MatMulSpec &spec);
/// Whether cp.async moves both operand tiles of the mma.sync product (each
/// in the tensor-core type already, moved as it is), the condition of its
/// pipeline over more than two stages.
bool matmulCopiesAsync(const MatMulSpec &spec);
/// Whether cp.async moves both operand tiles of the wgmma product (each in
/// the tensor-core type already, 16-byte runs along k), the condition of
/// its three-stage pipeline.
bool wgmmaCopiesAsync(const MatMulSpec &spec);
/// Products of at most kGemvRows rows (per batch) take the GEMV kernel:
/// one warp per output column, kGemvWarps per block.
constexpr int64_t kGemvRows = 8;
constexpr int64_t kGemvWarps = 8;
/// Whether the GEMV kernel computes `spec`: few rows, float operands (no
/// integer product, no weight dequantized in the kernel).
bool gemvApplies(const MatMulSpec &spec);
/// Whether the tensor-core kernels can store a gated unit of `spec` (with
/// glu unset, n its 2n product columns): float operands and result, no
/// integer correction or output quantization, gate and up halves of whole
/// 8-column tiles.
bool tiledGluApplies(const MatMulSpec &spec);
constexpr int64_t kAttentionWarps = 4;
constexpr int64_t kAttentionBlockQ = 16 * kAttentionWarps;
constexpr int64_t kAttentionBlockK = 64;
constexpr int64_t kRowThreads = 256;

/// A tiled kernel: its gpu.func text, and the dynamic shared memory each of
/// its launches passes (0 when its tiles are static workgroup attributions).
struct TiledKernel {
  std::string text;
  int64_t dynamicSharedBytes = 0;
};

/// A host function (func.func @name on the same flat buffers) that runs the
/// attention kernel's algorithm in fp32 with scalar loops: query blocks of
/// kAttentionBlockQ for the causal key bound, key blocks of
/// kAttentionBlockK, block maximum then rescaling of the running sum and
/// output, exp2 of log2(e)-scaled scores, grouped kv heads, zero rows. It
/// checks the algorithm on a CPU; the kernel differs only in how the work is
/// spread over threads and in bf16 operands of its products.
std::string attentionHostReference(const AttentionSpec &spec);

/// gpu.func text (no enclosing gpu.module) for each kernel.
TiledKernel matmulKernel(const MatMulSpec &spec);
/// The same product on Hopper's warpgroup tensor cores (wgmma.mma_async,
/// sm_90a): tileM a multiple of 64 (one warpgroup each), tileN a multiple of
/// 8 up to 256, tileK a multiple of 16; bf16 or f16.
TiledKernel wgmmaMatmulKernel(const MatMulSpec &spec);
/// The same product for few rows (gemvApplies): kGemvWarps columns per
/// block of 32 * kGemvWarps threads, grid (ceil(n / kGemvWarps), 1, batch).
TiledKernel gemvKernel(const MatMulSpec &spec);
TiledKernel attentionKernel(const AttentionSpec &spec);
/// `name(%partial, [%sink,] %out)`: merges the splits of a split attention
/// (AttentionSpec::splits) into its output, counting the sink; grid
/// (batch * queryHeads * seqQ), attentionCombineThreads threads.
std::string attentionCombineKernel(const AttentionSpec &spec,
                                   const std::string &name);
std::string rowKernel(const RowSpec &spec);
/// (%input, %scales, %out): one block of kRowThreads per row.
std::string quantizeRowsKernel(const QuantizeRowsSpec &spec);
/// <name>_minmax(%input, %blocks): (min, max) of each block's chunk.
std::string tensorMinMaxKernel(const QuantizeTensorSpec &spec);
/// <name>(%input, [%blocks,] %scale, %zero, %out): the tensor's range (from
/// the blocks' pairs, or its one block's pass over the input), the scale
/// and zero point (written by block 0), each block's chunk quantized.
std::string quantizeTensorKernel(const QuantizeTensorSpec &spec);

} // namespace llmc::gpu_kernels

#endif // LLMC_CONVERSION_LLMTOGPU_KERNELTEXT_H
