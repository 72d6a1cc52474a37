//===- EraseUnread.h - erase ops nothing reads any more ---------*- C++ -*-===//
//
// Rewrites that move or rebuild what an op reads leave the old ops behind;
// those whose results no one reads any more go, in whatever order their
// uses allow.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_SUPPORT_ERASEUNREAD_H
#define LLMC_SUPPORT_ERASEUNREAD_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

namespace llmc {

/// Erases the ops of `ops` (each once) whose results no one reads, until
/// none is left: an op read only by others of `ops` goes after them, in
/// any order.
inline void eraseUnread(llvm::SmallVector<mlir::Operation *> ops) {
  for (bool erased = true; erased;) {
    erased = false;
    for (mlir::Operation *&op : ops)
      if (op && op->use_empty()) {
        op->erase();
        op = nullptr;
        erased = true;
      }
  }
}

} // namespace llmc

#endif // LLMC_SUPPORT_ERASEUNREAD_H
