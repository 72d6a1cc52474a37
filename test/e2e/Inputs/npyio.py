"""Saving a test generator's inputs and references: one NAME.npy per array,
float64 references (numpy computes them in double) stored as float32."""
import os

import numpy as np


def save_arrays(directory, arrays):
    os.makedirs(directory, exist_ok=True)
    for name, array in arrays.items():
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        np.save(os.path.join(directory, name + ".npy"), array)
