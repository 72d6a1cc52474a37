//===- TilingInterfaceImpl.h - TilingInterface for llm ops ------*- C++ -*-===//
#ifndef LLM_TRANSFORMS_TILINGINTERFACEIMPL_H
#define LLM_TRANSFORMS_TILINGINTERFACEIMPL_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::llm {
/// Attaches TilingInterface to llm.matmul, llm.attention, llm.layer_norm,
/// llm.rms_norm and llm.softmax (external models, as upstream does for
/// linalg), so scf::tileUsingSCF and tile-and-fuse drive them.
///
/// Iteration domains (every tile is the same op on slices, so a tiled op
/// computes exactly what the untiled one computes for those elements):
/// - matmul: [batch..., M, N] parallel, K reduction. K is only ever taken
///   whole: the epilogue (scale, bias, activation, residual) must see the
///   full sum, so a partial K tile is refused.
/// - attention: the result's dims [batch..., Hq, Sq, Dv], all parallel; the
///   keys stay whole (the online-softmax loop over key blocks is the
///   backend's). A head tile must be a multiple or a divisor of the group
///   size Hq / Hkv. A tile of the query rows of causal attention (whose
///   diagonal is aligned to the last row) becomes non-causal with the
///   tile's causal pattern (and its window, if any) as an i1 mask (and-ed
///   with an i1 mask; a float mask is refused).
/// - layer_norm, rms_norm: the input's dims, parallel before `axis`,
///   reduction (taken whole) from it; softmax: reduction along `axis` only.
void registerTilingInterfaceExternalModels(DialectRegistry &registry);
} // namespace mlir::llm

#endif // LLM_TRANSFORMS_TILINGINTERFACEIMPL_H
