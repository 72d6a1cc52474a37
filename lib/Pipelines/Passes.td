//===- Passes.td - passes private to the target pipelines --*- tablegen -*-===//
#ifndef LLMC_PIPELINES_PASSES_TD
#define LLMC_PIPELINES_PASSES_TD

include "mlir/Pass/PassBase.td"

def LLMHostEntryABI : Pass<"llm-host-entry-abi", "::mlir::ModuleOp"> {
  let summary = "give the public functions the host runtime's calling convention";
  let description = [{
    Runs on tensors, before bufferization. Every public function definition
    gets `llvm.emit_c_interface`, so the LLVM lowering emits
    `_mlir_ciface_<name>` taking one memref descriptor pointer per argument,
    and (`internal-linkage`) `llvm.linkage` internal: only that wrapper is
    called, so the execution engine adds no packed wrapper of the function
    itself (a call of every descriptor field, hundreds for a real model,
    which took LLVM seconds to compile) and LLVM may drop the fields it does
    not read.
    Every tensor argument gets `bufferization.writable = false`: inputs and
    weights belong to the caller (weights may be read-only mappings), so
    bufferization must copy rather than write into them. Results must have
    static shapes because they become out-parameters the runtime allocates;
    a dynamic one is an error naming the function and the result. A value
    returned more than once is copied for each repetition, since every
    result is written to its own out-parameter.
  }];
  let options = [
    Option<"internalLinkage", "internal-linkage", "bool", /*default=*/"true",
           "give the functions internal linkage (the host JIT; the HLS "
           "path, which writes C++, does not)">
  ];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def LLMFuseElementwise : Pass<"llm-fuse-elementwise"> {
  let summary = "linalg elementwise fusion that recomputes nothing";
  let description = [{
    `linalg-fuse-elementwise-ops` for the host and HLS paths, which run each
    linalg op as its loop nest: an elementwise producer read once is fused
    into its consumer only when the consumer reads each of its elements
    once (the operand's indexing map takes distinct loops, and every loop
    it leaves out has one iteration, as a decoding step's row loop), or
    when the producer cheaply transforms stored data: arith ops without
    divisions on function arguments and constants, as an f16 weight's
    widening or a weight's dequantization, which the product then streams
    compact instead of reading a materialized f32 copy (in HLS an on-chip
    buffer of the whole weight). Upstream's pass also fuses it where the consumer reads an
    element many times, and the loop nest then recomputes it every time: a
    GELU, or a LayerNorm's normalization with its square root and
    divisions, evaluated once per multiply-add of the product that reads
    it (N times over for an [M, K] x [K, N] product). Reshapes are folded
    and constants folded as upstream does.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LLMGPULoopOrder : Pass<"llm-gpu-loop-order"> {
  let summary = "put every parallel loop of a linalg op outside its reductions";
  let description = [{
    For the ptx backend's generic path, which maps the outermost parallel
    loops of each linalg op to GPU threads: an op with a reduction loop
    outside a parallel one (a sum over the first dim, iterators
    [reduction, parallel, parallel]) would leave the reduction as a host
    loop around a launch, which the launch plan cannot run. The loops are
    interchanged to parallel ones first (in their order), then the
    reductions (in theirs): one kernel, each thread reducing its own output
    elements in the original order. Named ops are generalized first.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def LLMHostLoopOrder : Pass<"llm-host-loop-order"> {
  let summary = "make a contiguous parallel loop innermost where a reduction is";
  let description = [{
    Lowered as written, `linalg.matmul` puts the reduction innermost and walks
    the right-hand side by columns: LLVM cannot vectorize a float reduction
    without reassociating it, which changes results. For every linalg op whose
    innermost loop is a reduction, this pass moves innermost the loop of the
    output's last dimension when that loop is parallel and every operand that
    depends on it has it as its last (contiguous) dimension; e.g. matmul's
    (i, j, k) becomes (i, k, j). The innermost loop then reads and writes
    contiguously and vectorizes exactly: every output element still sums its
    terms in the same order. Named ops that change are generalized first.

    A contraction whose input has the output's loop in another position
    (`A x B^T`: B is [N, K], or attention's K, read at kv head `h floordiv G`
    under grouped-query attention) gets that input copied transposed first
    (`linalg.transpose`), so that it qualifies, where the product reads each
    element of the input at least `min-reuse` times (its rows, times the
    query heads of a kv head); below that the copy costs about what it
    saves. With `llm-host-tile-transposes` copying by blocks, on the 2-core
    CI machine (warm runs, the fastest of 7): `[M, 768] x [8192, 768]^T` of
    two inputs took 4.4 ms read in place at M = 1 (6.6 ms copied), and
    6.5 ms copied at M = 8 (17.0 ms in place); grouped-query attention's
    decoding step (16 query heads over 4 kv heads, 2047 cached keys) took
    4.9 ms and 5.0 ms. Results are bit-identical either way.
  }];
  let options = [
    Option<"minReuse", "min-reuse", "int64_t", /*default=*/"8",
           "transpose an input only where the product reads each of its "
           "elements at least this many times on average">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // LLMC_PIPELINES_PASSES_TD

def LLMConcatSlicesAsGather : Pass<"llm-concat-slices-as-gather"> {
  let summary = "rewrite a concat of slices of one tensor, some negated, as a gather";
  let description = [{
    A concat whose pieces are slices of one tensor along the concat axis
    (every other axis whole) or that tensor itself, each possibly negated,
    becomes one gather of that tensor at constant positions, multiplied by a
    constant sign (-1 where a piece was negated, float tensors only). This is
    rotate_half of rotary embeddings, concat(-x[..., h:], x[..., :h]), and
    the angles of Hugging Face's rotary embedding, concat(freqs, freqs). The ptx pipeline
    runs it before the linalg lowering: elementwise fusion fuses the gather
    into the rotary multiply and add, where the slices and the concat were
    launches of their own. A gather of a transpose gathers the transpose's
    input. Then, in a second round, a slice or split of a transpose becomes
    the transpose of a slice or split of its input (a view of its buffer):
    the parts of a partial rotary embedding (Phi's, NeoX's) no longer read a
    transposed copy.
  }];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

def LLMGPUDistinctEmptyTensors : Pass<"llm-gpu-distinct-empty-tensors"> {
  let summary = "give each use of a tensor.empty (and optionally a fill) its own";
  let description = [{
    CSE merges equal tensor.empty ops. Two concats of one shape (a layer's
    rotated q and k, each the rotated part of a partial rotary embedding and
    the copied rest) then insert their parts into one empty tensor, and
    One-Shot Bufferize, seeing two chains write one tensor, gives one of
    them a buffer of its own: that part is computed there and copied into
    its concat by another launch, which also depends on the first. This
    pass runs before eliminate-empty-tensors and gives every use of a
    tensor.empty after the first a copy of the op right before its user, so
    that each concat has its own destination and each part is computed in
    its slice.

    With `fills` (the host pipeline), a `linalg.fill` of a tensor.empty with
    several uses is repeated, with its own tensor.empty, before every user
    after the first. CSE merges the zero-filled accumulators of a model's
    products of one shape (every layer's fc1 output); bufferization then
    keeps the zeros in a buffer of their own for the whole function and
    copies them into a new buffer for each product: a fill, an allocation
    and a copy per product instead of a fill.
  }];
  let options = [
    Option<"fills", "fills", "bool", /*default=*/"false",
           "also repeat a linalg.fill of an empty tensor for each use">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LLMGPUAnchorLaunchReads : Pass<"llm-gpu-anchor-launch-reads"> {
  let summary = "read each launch's tensor inputs right before the launch";
  let description = [{
    convert-llm-to-gpu launches fused kernels at the tensor level: each input
    tensor becomes a buffer by `bufferization.to_buffer` right before its
    launch, which is what One-Shot Bufferize sees as the read of the tensor.
    CSE merges equal to_buffer ops and the canonicalizer folds
    to_buffer(to_tensor(alloc)) into the alloc, which moves the read before
    earlier ops or hides it: the analysis may then let an elementwise op
    write in place into a buffer that a later launch still reads (a
    residual read after a layer norm's output was written over its input).
    This pass runs right before bufferization and gives every launch (and
    call) argument that comes from a tensor its own to_buffer at the launch,
    with the casts between cloned: a memref traced back through casts to a
    to_buffer, or to an allocation that an earlier to_tensor turned into a
    tensor, is read as that tensor again. The to_buffer ops and casts it
    replaces are erased when nothing else reads them: of a strided tensor
    (a slice of a fused product), bufferization would still copy into a
    buffer that nothing reads.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def LLMGPUFuseLaunches : Pass<"llm-gpu-fuse-launches"> {
  let summary = "run independent generic launches, and chains of small "
                "ones, as one launch";
  let description = [{
    Horizontal fusion of the ptx backend's generic path (after
    llm-gpu-map-loops). A decoding step launches several small loops in a
    row that share no data: the past keys and values copied into the
    presents, the new value appended, the rotary embeddings of q and k. Each
    is a launch of a block or two, so the step waits on launch boundaries,
    not on memory.

    Consecutive gpu.launch ops of one block are merged when:
    - each has a 1-D grid, the same constant block size, a body of one
      block, and no async tokens, dynamic shared memory, clusters or
      attributions;
    - the ops between them only compute values or allocate;
    - no launch writes memory that another of the group reads or writes.
      Memory is traced through view ops to its allocation, function
      argument or global; two accesses of one allocation are apart when
      each comes from a static subview of it whose index ranges are
      disjoint in some dim (the past and new rows of a present key cache).

    The merged launch's grid is the parts' grids one after the other; each
    block runs the part its block index falls in, with that part's block
    index and grid size. Launches of the fused kernels (gpu.launch_func)
    and anything else with a memory effect end a group.

    Then vertical fusion of small launches: a router's softmax, top-k
    rounds and renormalization, or a step's mask and position arithmetic,
    are chains of dependent launches of a block or less each, whose cost is
    their launches. Consecutive launches (the ops between them as above)
    each of at most `chain-threads` threads in all (grid times block) and
    with a 1-D block, and nothing in their bodies that a block's threads
    must reach together (barriers, shuffles), become one launch of one
    block: thread t < blocks * threads of a part runs that part's thread
    t % threads of block t / threads, and a gpu.barrier between the parts
    orders each one's reads after the writes before it (a barrier makes the
    block's global memory writes visible to the block). Dependence needs no
    tracing: every part waits for the one before. `chain-threads` 0 turns
    it off.
  }];
  let options = [
    Option<"chainThreads", "chain-threads", "int64_t", /*default=*/"1024",
           "the most threads (grid x block) of a launch that joins a chain, "
           "and the chain's block size limit (0: no chains)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def LLMHostHoistLoads : Pass<"llm-host-hoist-loads", "::mlir::func::FuncOp"> {
  let summary = "move loop-invariant loads (and what they compute) out of loops";
  let description = [{
    A product of experts gathered in its body (llm-route-experts' routed
    products, ONNX Runtime's MoE) reads its row's expert index inside the
    innermost loop: `W[idx[r], k, n]`. LLVM cannot hoist that load, since
    the loop's stores might write the index for all it knows, so the
    weight's address is recomputed from a fresh load on every iteration and
    the loop does not vectorize ("cannot identify array bounds").

    This pass hoists a `memref.load` of an integer or index out of an
    `scf.for` or `scf.parallel` when its memref and indices are defined
    outside the loop, the loop runs at least once (constant bounds), and
    nothing the loop writes can alias the loaded buffer: every write in the
    loop is to a view of a `memref.alloc` or function argument other than
    the loaded one's base, and at least one of the two bases is an
    allocation (two arguments may be the same buffer). A loop holding an op
    whose writes it cannot name (a call) keeps its loads. Pure operations
    computed from hoisted values follow them out, as in loop-invariant code
    motion. Loops are visited innermost first, so a load leaves every loop
    it is invariant in. The values loaded and computed are the same; only
    where they are computed changes. Float loads stay: LLVM hoists an
    invariant one out of the vectorized loop itself, behind the runtime
    alias checks it adds for the loop's other accesses, and moving them (a
    product's lhs element) gave no gain.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def LLMHostTileTransposes : Pass<"llm-host-tile-transposes", "::mlir::func::FuncOp"> {
  let summary = "copy transposes by square blocks of the input";
  let description = [{
    Runs on buffers, before linalg becomes loops. A linalg op that copies
    its one input into its output (identity output map, a permutation of
    the input whose last dim is not the output's last: `linalg.transpose`,
    or `llm-host-loop-order`'s copies) would become loops that write the
    output row by row while reading the input a column at a time, a cache
    line per element. It is tiled into an `scf.parallel` of blocks of
    `tile-size` x `tile-size` elements over the two loops (every other loop
    by 1), within which the lines of the input stay in the cache. Copies of
    fewer than `min-elements` elements stay as they are.
  }];
  let options = [
    Option<"tileSize", "tile-size", "int64_t", /*default=*/"32",
           "elements per block side">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"16384",
           "the fewest elements a copy takes to be tiled">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def LLMHostRegisterTiles : Pass<"llm-host-register-tiles", "::mlir::func::FuncOp"> {
  let summary = "compute products on tiles of the output held in vector registers";
  let description = [{
    Runs on buffers, before linalg becomes loops. A `linalg.generic` that
    computes `out[.., m, n] += lhs[.., m, k] * rhs[.., k, n]` in f32 (`k`
    one or more reduction loops, which both inputs read, as an attention
    output projection's heads and head dims; `n` the last, unit-stride dim
    of the output and of rhs, which lhs does not read; float inputs widened
    by `arith.extf` in the body allowed) would become loops that, with `n`
    innermost as
    `llm-host-loop-order` leaves it, load and store a row of the output for
    every `k`. Here its output is computed by tiles of `tile-rows` rows (of
    the output's next dim `m`, where lhs reads it and rhs does not) by
    `tile-vectors` vectors of `vector-width` f32 columns: the tile is
    loaded into vectors, the `k` loops add the products of lhs elements
    (broadcast) and rhs vectors to it, and it is stored once. Each element
    still adds its `k` products in order, each rounded as the body rounds
    it (a multiply, then an add: no fused multiply-add), so the results are
    the same bit for bit. An input's index may be computed from loops
    other than `m` and `n` (a grouped-query attention's kv head,
    `h floordiv 2`). Where the output has fewer columns than a tile,
    its rows take fewer vectors.

    The tiles form one `scf.parallel` over the output's other dims, then
    the column tiles, then the row tiles (a tile of rhs serves every row
    tile). The rows and columns past the whole tiles are computed by the
    original op on subviews. Options at 0 take the host's: 16-wide vectors
    and 4 per row where it has AVX-512, else 8 and 2.
  }];
  let options = [
    Option<"tileRows", "tile-rows", "unsigned", /*default=*/"4",
           "output rows per tile (of m)">,
    Option<"tileVectors", "tile-vectors", "unsigned", /*default=*/"0",
           "vectors per tile row (0: the host's)">,
    Option<"vectorWidth", "vector-width", "unsigned", /*default=*/"0",
           "f32 lanes per vector (0: the host's)">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def LLMHostParallelLoops : Pass<"llm-host-parallel-loops"> {
  let summary = "keep the scf.parallel loops worth a thread each; the rest "
                "become scf.for";
  let description = [{
    After `convert-linalg-to-parallel-loops`, every linalg op is an
    `scf.parallel` over its parallel dims, nested `scf.for` over its
    reductions, and possibly more `scf.parallel` inside them (matmul in the
    host loop order (i, k, j) is parallel i { for k { parallel j } }). This
    pass keeps an `scf.parallel` only where `async-parallel-for` should split
    it across threads: an outermost one (no loop around it) with at least
    `min-work` scalar operations in all (its trip count times its body's
    operations, an op on vectors counting its lanes (a register tile's),
    times the trip counts of the constant loops inside), and of
    that one only one dim: the first with at least `threads` iterations (a
    product's rows; a one-sequence attention's heads, after its batch of 1),
    else the one with the most (a task computes whole slices of the other
    dims; `async-parallel-for` over several dims recomputes some elements
    when it rounds its blocks to whole rows, MLIR 22). Every other
    `scf.parallel` and dim becomes a nest of `scf.for` in the same order, so
    each element is still computed as the serial loops computed it: results
    stay bit-identical.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"1 << 22",
           "the least work (scalar ops) an scf.parallel needs to stay parallel">,
    Option<"threads", "threads", "int64_t", /*default=*/"2",
           "the threads the kept dim is split across">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def LLMHostOutlineLoops : Pass<"llm-host-outline-loops", "::mlir::ModuleOp"> {
  let summary = "one function per distinct top-level loop nest, called "
                "where each nest was";
  let description = [{
    After the host's linalg ops become loops, each function body is a
    sequence of loop nests on buffers, and a model's layers repeat the same
    nests on other buffers. This pass moves every top-level `scf.for` and
    `scf.parallel` without results into a private function of the values it
    uses from outside (constants are copied in, so bounds stay constant;
    buffers become arguments, their types keep their layouts) and calls it
    in its place. With `dedup` (the default), functions that print the same
    apart from their names are one function: LLVM optimizes and compiles
    each distinct nest once instead of once per layer. The functions are
    `noinline` (`passthrough`): a call per nest costs nothing next to the
    nest, and inlining would compile each copy again.
  }];
  let options = [
    Option<"dedup", "dedup", "bool", /*default=*/"true",
           "keep one function of each distinct loop nest">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def LLMHostNoInlineParallelBodies
    : Pass<"llm-host-noinline-parallel-bodies", "::mlir::ModuleOp"> {
  let summary = "compile each loop body async-parallel-for outlined once";
  let description = [{
    `async-parallel-for` outlines a loop's body into `parallel_compute_fn*`
    and calls it from `async_dispatch_fn*`, which is called both from the
    loop's function and from the async task that splits the range further.
    LLVM inlines the dispatch function into both, with the body inside it,
    so each heavy loop (a model's products and attention) was optimized and
    compiled twice. This pass marks the outlined bodies `noinline`
    (`passthrough = ["noinline"]`, which `convert-func-to-llvm` keeps): one
    call per block of rows costs nothing next to the block's work.
  }];
}
