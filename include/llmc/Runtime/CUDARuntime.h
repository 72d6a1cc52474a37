//===- CUDARuntime.h - run a ptx artifact through the CUDA driver -*- C++
//-*-===//
//
// The ptx backend's host side is a launch plan: device buffers (inputs,
// weights, constants, temporaries), kernel launches in order, and the buffers
// that hold the outputs. The executor loads libcuda.so.1 at run time (the
// build needs neither the driver nor cuda.h), JIT-loads the PTX, replays the
// launches as a CUDA graph and times the forward with events.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_CUDARUNTIME_H
#define LLMC_RUNTIME_CUDARUNTIME_H

#include "llmc/Runtime/Tensor.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmc {

struct LaunchPlan {
  enum class BufferKind { Input, Weight, Constant, Temporary };
  struct Buffer {
    BufferKind kind = BufferKind::Temporary;
    /// Input or weight number in signature order.
    int64_t index = -1;
    int64_t bytes = 0;
    /// Initial bytes of a constant.
    std::vector<uint8_t> data;
    /// A weight uploaded as bf16: its f32 values rounded to nearest even
    /// (`bytes` is half the weight's). Tensor-core kernels read such
    /// buffers; the weight's other users read an f32 buffer of their own.
    bool bf16 = false;
  };
  struct Argument {
    enum class Kind { Pointer, I64, I32, F32 } kind = Kind::Pointer;
    int64_t buffer = -1;
    int64_t integer = 0;
    double real = 0;
  };
  struct Launch {
    std::string kernel;
    std::array<uint32_t, 3> grid{1, 1, 1}, block{1, 1, 1};
    /// Dynamic shared memory per block (tiles past the 48 KiB of static
    /// shared memory; the runner opts the kernel in above 48 KiB).
    uint32_t sharedBytes = 0;
    std::vector<Argument> args;
  };

  std::string ptx;
  std::vector<Buffer> buffers;
  std::vector<Launch> launches;
  /// Buffer of each output, in signature order.
  std::vector<int64_t> outputs;

  /// The plan as JSON, for manifests, tests and runners without LLVM
  /// (bench/gpu/ptx_runner.py): launch count, kernels, every call with its
  /// arguments, the buffer table (kind, bytes, input or weight index, offset
  /// of a constant in constantBytes()) and the output buffers.
  llvm::json::Object summary() const;
  /// The plan back from summary() (an artifact manifest's "launch_plan"),
  /// with its PTX and the constants file's bytes: how runners without the
  /// compiler (llm-ptx-run) read an artifact.
  static llvm::Expected<LaunchPlan>
  fromSummary(const llvm::json::Object &summary, std::string ptx,
              llvm::ArrayRef<uint8_t> constants);
  /// The initial bytes of every constant buffer, in buffer order.
  std::vector<uint8_t> constantBytes() const;
};

/// Whether a weight buffer of a plan fits its weight (index, size, format).
bool weightMatches(const LaunchPlan::Buffer &buffer,
                   llvm::ArrayRef<Tensor> weights);

/// Why no GPU can run the plan, or none: whether libcuda.so.1 loads and
/// reports a device.
std::optional<std::string> cudaUnavailableReason();

class CUDAExecutable {
public:
  /// Loads the driver, creates a context on device 0, loads the PTX and
  /// uploads weights and constants. Fails with one line when there is no
  /// driver or no device.
  static llvm::Expected<std::unique_ptr<CUDAExecutable>>
  create(LaunchPlan plan, Signature signature, std::vector<Tensor> weights);
  ~CUDAExecutable();

  /// Copies the inputs in, runs every launch (as a CUDA graph when capture
  /// works; the first call runs the forward once more, untimed, as a
  /// warm-up) and copies the outputs back.
  llvm::Expected<std::vector<Tensor>> run(llvm::ArrayRef<Tensor> inputs);
  /// Device time of the last forward (event to event), in seconds.
  double lastForwardSeconds() const { return forwardSeconds; }

private:
  CUDAExecutable() = default;
  struct State;
  std::unique_ptr<State> state;
  LaunchPlan plan;
  Signature sig;
  double forwardSeconds = 0;
  bool warmedUp = false;
};

} // namespace llmc

#endif // LLMC_RUNTIME_CUDARUNTIME_H
