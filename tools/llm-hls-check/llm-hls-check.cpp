//===- llm-hls-check.cpp - check HLS C++ against the synthesizable subset -===//
#include "llmc/Driver/Driver.h"
#include "llmc/Target/HLS/HLSCpp.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::list<std::string> files(cl::cat(llmc::toolCategory()), cl::Positional, cl::desc("<kernel.cpp>..."),
                                   cl::OneOrMore);

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (!llmc::parseToolOptions(
          argc, argv,
          "llmc: check HLS C++ kernels against the synthesizable subset\n"))
    return 2;
  int status = 0;
  for (const std::string &file : files) {
    auto buffer = MemoryBuffer::getFile(file, /*IsText=*/true);
    if (!buffer)
      return llmc::reportToolError(
          "llm-hls-check", createStringError(file + ": cannot read: " +
                                             buffer.getError().message()));
    std::vector<std::string> problems =
        llmc::checkHLSCpp((*buffer)->getBuffer());
    for (const std::string &problem : problems)
      errs() << file << ": " << problem << "\n";
    if (problems.empty())
      outs() << file << ": synthesizable\n";
    else
      status = 1;
  }
  return status;
}
