//===- FusionCount.h - counting what a fusion pass rewrote ------*- C++ -*-===//
//
// Pass statistics are compiled out of release builds of LLVM (Debian's
// among them: --mlir-pass-statistics prints nothing), so the fusion passes
// count their rewrites in FusionCounts, add them to their Statistics (shown
// where LLVM keeps them) and, with the pass option `remarks`, report them as
// one remark per pass run:
//
//   remark: llm-fuse-norms: fused-layer-norms 4, fused-rms-norms 0, ...
//
//===----------------------------------------------------------------------===//
#ifndef LLM_TRANSFORMS_FUSIONCOUNT_H
#define LLM_TRANSFORMS_FUSIONCOUNT_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

#include <cstdint>
#include <string>

namespace mlir::llm {

/// The number of rewrites of one kind in one run of a pass.
struct FusionCount {
  uint64_t value = 0;
  FusionCount &operator++() {
    ++value;
    return *this;
  }
  FusionCount &operator+=(uint64_t n) {
    value += n;
    return *this;
  }
};

/// A rewrite pattern on `OpT` that counts its rewrites in `count`.
template <typename OpT> struct CountingPattern : OpRewritePattern<OpT> {
  CountingPattern(MLIRContext *context, FusionCount &count)
      : OpRewritePattern<OpT>(context), count(count) {}

protected:
  FusionCount &count;
};

/// One count with the statistic it adds to and its name in remarks (the
/// statistic's own name, which release builds do not keep).
struct NamedCount {
  const char *name;
  Pass::Statistic *statistic;
  FusionCount *count;
};

/// Adds each count to its statistic and, if `remarks`, emits one remark on
/// `op` naming the pass and each kind of rewrite with its count.
inline void reportFusionCounts(Operation *op, StringRef pass, bool remarks,
                               ArrayRef<NamedCount> counts) {
  std::string text = pass.str() + ":";
  bool first = true;
  for (const NamedCount &entry : counts) {
    *entry.statistic += entry.count->value;
    text += (first ? " " : ", ") + std::string(entry.name) + " " +
            std::to_string(entry.count->value);
    first = false;
  }
  if (remarks)
    mlir::emitRemark(op->getLoc(), text);
}

} // namespace mlir::llm

#endif // LLM_TRANSFORMS_FUSIONCOUNT_H
