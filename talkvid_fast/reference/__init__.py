"""Plain NumPy references: the readable definitions the fast kernels are tested against."""
