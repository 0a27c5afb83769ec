/* The public headers compile as strict C99 with every warning an error. */
#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>

int main(void)
{
    egcam_config cfg;
    return egcam_config_init(&cfg) == EGCAM_OK ? 0 : 1;
}
