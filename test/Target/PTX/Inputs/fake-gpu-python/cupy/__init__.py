"""A stand-in for the CuPy calls bench/gpu/ptx_runner.py and bench_gpu.py
make, on numpy, for testing bench_gpu.py --run without a GPU
(bench-run-flow.test). Kernels compute nothing (buffers start zeroed). An
artifact whose path holds "hang" hangs at its first launch, "crash" aborts
the process there, and "fault" raises the way a faulting kernel does and
leaves the "context" unusable, as a sticky CUDA error would."""
import os
import random as _random
import time as _time

import numpy as np

__version__ = "fake"
float32, float16, uint8, uint16 = np.float32, np.float16, np.uint8, np.uint16
asarray = np.asarray
asnumpy = np.asarray
arange = np.arange
_broken = False


def empty(n, dtype):
    return np.zeros(n, dtype)


class CUDADriverError(RuntimeError):
    pass


class _Kernel:
    max_dynamic_shared_size_bytes = 0

    def __init__(self, name, behaviour):
        self.name, self.behaviour = name, behaviour

    def __call__(self, grid, block, args, shared_mem=0):
        global _broken
        if _broken:
            raise CUDADriverError("CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access "
                                  "was encountered")
        if self.behaviour == "hang":
            _time.sleep(3600)
        if self.behaviour == "crash":
            os.abort()
        if self.behaviour == "fault":
            _broken = True
            raise CUDADriverError("CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access "
                                  "was encountered")


class RawModule:
    def __init__(self, path):
        open(path).close()
        self.behaviour = next((b for b in ("hang", "crash", "fault") if b in path), None)

    def get_function(self, name):
        return _Kernel(name, self.behaviour)


class _RandomState:
    def __init__(self, seed):
        self.generator = np.random.default_rng(seed)

    def standard_normal(self, size, dtype=np.float64):
        return self.generator.standard_normal(size).astype(dtype)


class random:
    RandomState = _RandomState


class _Graph:
    def launch(self, stream):
        pass


class _Stream:
    def __init__(self, non_blocking=False):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass

    def begin_capture(self):
        pass

    def end_capture(self):
        return _Graph()


class _Event:
    def record(self, stream=None):
        pass

    def synchronize(self):
        pass


def _synchronize():
    if _broken:
        raise CUDADriverError("CUDA_ERROR_ILLEGAL_ADDRESS (sticky)")


class _Runtime:
    getDeviceCount = staticmethod(lambda: 1)
    deviceSynchronize = staticmethod(_synchronize)
    driverGetVersion = staticmethod(lambda: 13000)


class cuda:
    Stream = _Stream
    Event = _Event
    runtime = _Runtime
    get_elapsed_time = staticmethod(lambda a, b: _random.uniform(0.5, 1.5))
