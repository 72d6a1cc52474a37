//===- RunMain.h - llm-run's body, callable more than once ------*- C++ -*-===//
//
// llm-run's command line and everything it does after InitLLVM, as a
// function: the llm-run executable calls it once, the Python module
// llmc._llm_run once per request of a long-lived worker. Each call parses
// `argv` afresh (every llm-run option back at its default first) and
// returns llm-run's exit code; it prints to llvm::outs() and llvm::errs().
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_DRIVER_RUNMAIN_H
#define LLMC_DRIVER_RUNMAIN_H

namespace llmc {
int llmRunMain(int argc, char **argv);
} // namespace llmc

#endif // LLMC_DRIVER_RUNMAIN_H
