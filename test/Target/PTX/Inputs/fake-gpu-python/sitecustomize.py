"""With cupy/ beside it (on PYTHONPATH): torch on the CPU made to answer as
if CUDA were there (is_available, events, "cuda" tensors made on the CPU),
for testing bench_gpu.py --run without a GPU (bench-run-flow.test)."""
try:
    import torch
except ImportError:
    torch = None

if torch is not None:
    torch.cuda.is_available = lambda: True
    torch.cuda.get_device_name = lambda index=0: "fake GPU"
    torch.cuda.synchronize = lambda: None

    class _Event:
        def __init__(self, enable_timing=False):
            pass

        def record(self):
            pass

        def elapsed_time(self, other):
            return 1.0

    torch.cuda.Event = _Event
    _randn, _randint = torch.randn, torch.randint

    def _randn_cpu(*shape, device=None, **kwargs):
        return _randn(*shape, **kwargs)

    def _randint_cpu(*args, device=None, **kwargs):
        return _randint(*args, **kwargs)

    torch.randn, torch.randint = _randn_cpu, _randint_cpu
