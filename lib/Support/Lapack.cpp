//===- Lapack.cpp - the BLAS and LAPACK routines, loaded on first use -----===//

#include "llmc/Support/Lapack.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/DynamicLibrary.h"

#include <cstdlib>
#include <string>

using namespace llmc;

namespace {

/// Where the routines are looked for, in order: the library LLMC_LAPACK
/// names, alone, when it is set; else the runtime names of Debian's LAPACK
/// and BLAS (each an alternative: the reference ones or OpenBLAS's), then
/// the libraries CMake found at configure time.
llvm::SmallVector<std::string> candidates() {
  if (const char *chosen = std::getenv("LLMC_LAPACK"); chosen && *chosen)
    return {chosen};
  llvm::SmallVector<std::string> names = {"liblapack.so.3", "libblas.so.3"};
  llvm::SmallVector<llvm::StringRef> configured;
  llvm::StringRef(LLMC_LAPACK_LIBRARIES).split(configured, ';', -1, false);
  for (llvm::StringRef path : configured)
    names.push_back(path.str());
  return names;
}

/// The routines, or why they could not be found (an empty `routines`).
struct Loaded {
  lapack::Routines routines{};
  std::string error;
};

Loaded load() {
  Loaded loaded;
  lapack::Routines &routines = loaded.routines;
  struct Symbol {
    const char *name;
    void **address;
  };
  Symbol symbols[] = {
      {"ssyrk_", reinterpret_cast<void **>(&routines.ssyrk)},
      {"sgemm_", reinterpret_cast<void **>(&routines.sgemm)},
      {"dpotrf_", reinterpret_cast<void **>(&routines.dpotrf)},
      {"dtrtri_", reinterpret_cast<void **>(&routines.dtrtri)},
  };
  std::string searched, failures;
  for (const std::string &name : candidates()) {
    std::string error;
    // Not permanent: the JIT's symbol search (the host runtime's) does not
    // see these libraries. They stay loaded for the process's life.
    llvm::sys::DynamicLibrary library =
        llvm::sys::DynamicLibrary::getLibrary(name.c_str(), &error);
    if (!library.isValid()) {
      failures += "; " + error;
      continue;
    }
    searched += (searched.empty() ? " in " : ", ") + name;
    // dlsym on a library's handle also searches the libraries it depends
    // on: the reference LAPACK's BLAS.
    for (Symbol &symbol : symbols)
      if (!*symbol.address)
        *symbol.address = library.getAddressOfSymbol(symbol.name);
    bool complete = true;
    for (Symbol &symbol : symbols)
      complete &= *symbol.address != nullptr;
    if (complete)
      return loaded;
  }
  std::string missing;
  for (Symbol &symbol : symbols)
    if (!*symbol.address)
      missing += (missing.empty() ? "" : ", ") + std::string(symbol.name);
  loaded.error =
      "cannot load BLAS and LAPACK (" + missing + " not found" + searched +
      failures +
      "): install liblapack3 and libblas3, or libopenblas0, or name a "
      "library that has them in LLMC_LAPACK";
  return loaded;
}

} // namespace

llvm::Expected<const lapack::Routines &> lapack::routines() {
  static const Loaded loaded = load();
  if (!loaded.error.empty())
    return llvm::createStringError(loaded.error);
  return loaded.routines;
}
