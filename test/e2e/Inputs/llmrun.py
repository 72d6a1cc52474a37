"""Running a model through llm-run against expected outputs, for the case
scripts of the e2e tests."""
import subprocess


def check(model, target, inputs, expects, rtol, atol):
    """Runs `llm-run MODEL --target TARGET` (the ptx kernels on the GPU
    emulator) with `inputs` and `expects` ({name: .npy path}); returns None
    when it passes, else its exit status and last line of output."""
    command = ["llm-run", model, "--target", target]
    if target == "ptx":
        command.append("--emulate-gpu")
    for name, path in inputs.items():
        command += ["--input", f"{name}={path}"]
    for name, path in expects.items():
        command += ["--expect", f"{name}={path}"]
    command += ["--rtol", rtol, "--atol", atol]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode == 0:
        return None
    last = (run.stderr or run.stdout).strip().splitlines()
    return f"exit {run.returncode}: {last[-1] if last else ''}"
