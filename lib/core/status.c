/* status.c - versions and status names. */
#include "core.h"

unsigned egcam_version_number(void) { return EGCAM_VERSION_NUMBER; }

const char *egcam_version_string(void) { return EGCAM_VERSION_STRING; }

const char *egcam_status_string(egcam_status status)
{
    switch (status) {
    case EGCAM_OK: return "ok";
    case EGCAM_E_NULL_ARGUMENT: return "a required pointer is NULL";
    case EGCAM_E_INVALID_ARGUMENT: return "invalid argument";
    case EGCAM_E_EMPTY: return "empty size or dimension";
    case EGCAM_E_SHAPE_MISMATCH: return "shapes do not match";
    case EGCAM_E_NON_FINITE: return "NaN or infinite value";
    case EGCAM_E_CLASS_OUT_OF_RANGE: return "class out of range";
    case EGCAM_E_STRUCT_SIZE: return "struct size or reserved bytes not understood";
    case EGCAM_E_ABI_VERSION: return "backend ABI version not supported";
    case EGCAM_E_MISUSE: return "API misuse";
    case EGCAM_E_OUT_OF_MEMORY: return "out of memory";
    case EGCAM_E_BACKEND: return "backend failure";
    case EGCAM_E_UNSUPPORTED: return "unsupported";
    case EGCAM_E_IO: return "input/output error";
    case EGCAM_E_FORMAT: return "bad format";
    case EGCAM_E_CANCELLED: return "cancelled";
    case EGCAM_E_INTERNAL: return "internal error";
    case EGCAM_STATUS_END: break;
    }
    return "unknown status";
}
