//===- Lapack.h - BLAS and LAPACK, loaded on first use ----------*- C++ -*-===//
//
// GPTQ (llm-quantize weights=gptq, the driver's Gram matrices) takes four
// routines of the system's BLAS and LAPACK. They are loaded when first
// asked for, not linked: OpenBLAS, which Debian's alternatives select for
// liblapack.so.3 where it is installed, starts its threads when it is
// loaded, and they spin for a while in every process that loads it: about
// a third of the CPU time of a tool run that does nothing else.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_SUPPORT_LAPACK_H
#define LLMC_SUPPORT_LAPACK_H

#include "llvm/Support/Error.h"

#include <cstddef>

namespace llmc::lapack {

/// The routines' Fortran interfaces: the trailing arguments are the hidden
/// lengths of the character arguments that gfortran passes.
struct Routines {
  void (*ssyrk)(const char *uplo, const char *trans, const int *n, const int *k,
                const float *alpha, const float *a, const int *lda,
                const float *beta, float *c, const int *ldc, size_t uploLength,
                size_t transLength);
  void (*sgemm)(const char *transa, const char *transb, const int *m,
                const int *n, const int *k, const float *alpha, const float *a,
                const int *lda, const float *b, const int *ldb,
                const float *beta, float *c, const int *ldc,
                size_t transaLength, size_t transbLength);
  void (*dpotrf)(const char *uplo, const int *n, double *a, const int *lda,
                 int *info, size_t uploLength);
  void (*dtrtri)(const char *uplo, const char *diag, const int *n, double *a,
                 const int *lda, int *info, size_t uploLength,
                 size_t diagLength);
};

/// The routines, from the LAPACK library loaded on the first call (and
/// the BLAS it depends on): the library the environment variable
/// LLMC_LAPACK names, or else liblapack.so.3 and libblas.so.3. An error
/// names the routines not found and why each library failed to load.
/// Thread-safe; later calls return the first call's result.
llvm::Expected<const Routines &> routines();

} // namespace llmc::lapack

#endif // LLMC_SUPPORT_LAPACK_H
