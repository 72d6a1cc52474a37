//===- ToolOptions.h - the tools' own command-line options ------*- C++ -*-===//
//
// The tools' options live in one category; --help lists those (and MLIR's,
// in llm-opt and llm-translate) rather than the hundreds of LLVM's backends
// that the shared library registers. Header-only, so that llm-opt, which
// does not link the driver, uses the same rule.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_SUPPORT_TOOLOPTIONS_H
#define LLMC_SUPPORT_TOOLOPTIONS_H

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"

namespace llmc {

/// The category of the tools' own options (cl::cat(toolCategory())).
inline llvm::cl::OptionCategory &toolCategory() {
  static llvm::cl::OptionCategory category("llmc options");
  return category;
}

/// Hides from --help every option registered so far that is not in
/// toolCategory(): still usable, and --help-hidden lists them. llm-opt and
/// llm-translate call it before MLIR's drivers register their own options.
inline void hideForeignOptions() {
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::cl::Option *option = entry.second;
    bool generic = entry.first.starts_with("help") || entry.first == "version";
    if (!generic && !llvm::is_contained(option->Categories, &toolCategory()) &&
        option->getOptionHiddenFlag() == llvm::cl::NotHidden)
      option->setHiddenFlag(llvm::cl::Hidden);
  }
}

} // namespace llmc

#endif // LLMC_SUPPORT_TOOLOPTIONS_H
