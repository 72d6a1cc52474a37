# lit configuration of llmc: tools come from the build tree; features say
# which optional toolchains (ptxas, a CUDA GPU, torch) this machine has.
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config

config.name = "llmc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".onnxtxt"]
config.excludes = ["Inputs", "lit.cfg.py", "CMakeLists.txt", "models"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llmc_tools_dir, append_path=True)

# Debian's interpreter has onnx, numpy and torch; the first python3 on PATH
# may not.
python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
config.substitutions.append(("%python", python))
config.substitutions.append(("%models", os.path.join(config.llmc_src_root, "test", "models")))
config.substitutions.append(("%llmc_src", config.llmc_src_root))
config.environment["PYTHONPATH"] = os.path.join(config.llmc_obj_root, "python")
# The host JIT and the HLS C-simulation compile the small test models without
# optimization (results are bit-identical at every level, see
# e2e/cpu-opt-level.test): about half of the suite's time otherwise.
# LLMC_CPU_OPT_LEVEL=2 lit ... runs the suite as users run by default.
config.environment["LLMC_CPU_OPT_LEVEL"] = os.environ.get("LLMC_CPU_OPT_LEVEL", "0")
# The host code runs on the machine's threads, as users' does;
# LLMC_HOST_THREADS=1 lit ... runs it serially (tests that need one setting
# or the other set it themselves).
if "LLMC_HOST_THREADS" in os.environ:
    config.environment["LLMC_HOST_THREADS"] = os.environ["LLMC_HOST_THREADS"]
# numpy's BLAS (OpenBLAS, setup.sh installs it) starts a thread per core
# when it is loaded, and they spin for a while: a Python process that
# imports numpy spent 370 ms of CPU instead of 200 ms, and the suite's
# RUN lines start about a thousand. The tests' arrays are small.
config.environment["OPENBLAS_NUM_THREADS"] = os.environ.get("OPENBLAS_NUM_THREADS", "1")
# export_models.py keeps each export here and copies it for the next test
# that asks for the same one (the key hashes the script, so an edit to it
# exports afresh). LLMC_EXPORT_CACHE= (empty) exports every time.
config.environment["LLMC_EXPORT_CACHE"] = os.environ.get(
    "LLMC_EXPORT_CACHE", os.path.join(config.llmc_obj_root, "test", "export-cache"))

tools = ["llm-opt", "llm-translate", "llm-compile", "llm-run", "llm-ptx-run", "llm-hls-check"]
llvm_config.add_tool_substitutions(tools, [config.llmc_tools_dir])


def python_has(module):
    try:
        return subprocess.run([python, "-c", "import " + module],
                              capture_output=True, timeout=120).returncode == 0
    except Exception:
        return False


if python_has("torch") and python_has("onnx"):
    config.available_features.add("torch")
if python_has("onnx"):
    config.available_features.add("onnx")
# ONNX's backend node tests (Debian's libonnx-testdata).
if os.path.isdir("/usr/share/libonnx-testdata/data/node"):
    config.available_features.add("onnx-testdata")
ptxas = shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
# A C compiler builds the stand-in CUDA driver (Target/PTX/fake-cuda.test).
if shutil.which("cc"):
    config.available_features.add("cc")
if os.path.exists("/dev/nvidia0") or os.environ.get("LLMC_CUDA_GPU"):
    config.available_features.add("cuda-gpu")
