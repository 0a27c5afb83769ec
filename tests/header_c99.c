/* The public headers compile as strict C99 with every warning an error. */
#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h> /* plain C even though its library is C++ */

int main(void)
{
    egcam_config cfg;
    return egcam_config_init(&cfg) == EGCAM_OK ? 0 : 1;
}
