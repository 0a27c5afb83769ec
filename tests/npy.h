/* npy.h - read float32 .npy files (the test fixtures). */
#ifndef TESTS_NPY_H
#define TESTS_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef struct npy_array {
    float  *data;
    int64_t shape[8];
    int     ndim;
    size_t  count;
} npy_array;

/* Read a little-endian float32, C-order .npy file. Returns 0, or -1 with a
 * message in err. Free data with free(). */
int npy_read(const char *path, npy_array *out, char *err, size_t err_size);

#endif
