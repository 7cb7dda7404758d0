# Raw declarations from Python.h that Cython's cpython/ package lacks.

cdef extern from "Python.h":
    int Py_AddPendingCall(int (*func)(void *) noexcept, void *arg) nogil
