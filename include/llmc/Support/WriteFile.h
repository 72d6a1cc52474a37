//===- WriteFile.h - write a file, check that it took the bytes -*- C++ -*-===//
//
// raw_fd_ostream reports a failed write (a full disk, a closed pipe) only as
// an error flag, and aborts the process ("IO failure on output stream") when
// it is destroyed with the flag set. Every file the tools write goes through
// writeFile, which closes the stream, checks it and clears the flag: a file
// that cannot be written is an llvm::Error naming it, which the tools print
// as one line and exit 2 on.
//
// Header-only: llm-ptx-run links LLVM's Support library alone.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_SUPPORT_WRITEFILE_H
#define LLMC_SUPPORT_WRITEFILE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

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

} // namespace llmc

#endif // LLMC_SUPPORT_WRITEFILE_H
