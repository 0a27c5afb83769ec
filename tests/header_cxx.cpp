// The public headers compile as C++ and link with C linkage.
#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h> /* plain C even though its library is C++ */

int main()
{
    egcam_config cfg;
    if (egcam_config_init(&cfg) != EGCAM_OK)
        return 1;
    static_assert(sizeof(egcam_tensor) == 48, "egcam_tensor layout is frozen");
    return egcam_version_number() == EGCAM_VERSION_NUMBER ? 0 : 1;
}
