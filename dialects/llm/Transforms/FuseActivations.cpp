// placeholder: written by the fusion work
