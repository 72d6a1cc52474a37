//===- WriteFile.h - write a file, check that it took the bytes -*- C++ -*-===//
//
// raw_fd_ostream reports a failed write (a full disk, a closed pipe) only as
// an error flag, and aborts the process ("IO failure on output stream") when
// it is destroyed with the flag set. Every file the tools write goes through
// writeFile, which closes the stream, checks it and clears the flag: a file
// that cannot be written is an llvm::Error naming it, which the tools print
// as one line and exit 2 on.
//
// llm-opt and llm-translate write through MLIR's drivers, which own their
// output stream: exitOnOutputFailure turns that stream's failure into the
// same line and exit 2.
//
// Header-only: llm-ptx-run links LLVM's Support library alone.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_SUPPORT_WRITEFILE_H
#define LLMC_SUPPORT_WRITEFILE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace llmc {

/// The error `os` recorded (none: success) as "PATH: cannot write:
/// REASON", cleared so that its destructor does not abort.
inline llvm::Error takeStreamError(llvm::raw_fd_ostream &os,
                                   const llvm::Twine &path) {
  std::error_code error = os.error();
  os.clear_error();
  if (error)
    return llvm::createStringError(error,
                                   path + ": cannot write: " + error.message());
  return llvm::Error::success();
}

/// Creates (or truncates) `path`, lets `write` write it, and closes it:
/// "PATH: cannot write: REASON" when it cannot be opened or did not take
/// every byte. `write` may return an error of its own (an encoder that
/// failed), which is returned as it is.
inline llvm::Error
writeFile(const llvm::Twine &path,
          llvm::function_ref<llvm::Error(llvm::raw_ostream &)> write) {
  std::error_code error;
  llvm::raw_fd_ostream os(path.str(), error, llvm::sys::fs::OF_None);
  if (error)
    return llvm::createStringError(error,
                                   path + ": cannot write: " + error.message());
  llvm::Error written = write(os);
  os.close();
  llvm::Error closed = takeStreamError(os, path);
  if (written) {
    llvm::consumeError(std::move(closed));
    return written;
  }
  return closed;
}

/// For a stream writeFile did not open (a ToolOutputFile's, which may be
/// stdout): flushes it and checks that it took every byte.
inline llvm::Error flushChecked(llvm::raw_fd_ostream &os,
                                const llvm::Twine &path) {
  os.flush();
  return takeStreamError(os, path);
}

/// writeFile of `bytes`.
inline llvm::Error writeFile(const llvm::Twine &path, llvm::StringRef bytes) {
  return writeFile(path, [&](llvm::raw_ostream &os) {
    os << bytes;
    return llvm::Error::success();
  });
}

/// For a tool whose output stream MLIR's driver (MlirOptMain,
/// mlirTranslateMain) opens from its `-o` option and destroys itself: a
/// write that failed (a full disk) would end the process with "LLVM ERROR:
/// IO failure on output stream" and exit 1. Installs a fatal-error handler
/// that prints "TOOL: error: PATH: cannot write: REASON" for it and exits 2.
/// Other fatal errors are printed as LLVM prints them and end the process
/// as they did. `tool` must outlive the process's last fatal error.
inline void exitOnOutputFailure(const char *tool) {
  llvm::install_fatal_error_handler(
      [](void *tool, const char *reason, bool) {
        llvm::StringRef message(reason);
        if (!message.consume_front("IO failure on output stream: ")) {
          llvm::errs() << "LLVM ERROR: " << reason << "\n";
          return;
        }
        // The drivers' `-o` (a cl::opt<std::string>, "-" by default).
        std::string path = "-";
        auto &options = llvm::cl::getRegisteredOptions();
        if (llvm::cl::Option *output = options.lookup("o"))
          path = static_cast<llvm::cl::opt<std::string> *>(output)->getValue();
        llvm::errs() << static_cast<const char *>(tool)
                     << ": error: " << (path == "-" ? "<stdout>" : path)
                     << ": cannot write: " << message << "\n";
        llvm::sys::RunInterruptHandlers();
        std::exit(2);
      },
      const_cast<char *>(tool));
}

} // namespace llmc

#endif // LLMC_SUPPORT_WRITEFILE_H
