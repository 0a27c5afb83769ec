/*
 * colormap.c - colour maps: matplotlib's turbo, jet, viridis and inferno as
 * 256-entry tables (colormap_tables.h, made by make_colormaps.py; the
 * licences of the data are in that header), looked up as matplotlib does.
 */
#include <string.h>

#include "colormap_tables.h"
#include "image.h"

static const struct {
    const char *name;
    uint32_t id;
    const uint8_t (*table)[3];
} maps[] = {
    {"turbo", EGCAM_COLORMAP_TURBO, egcam__colormap_turbo},
    {"jet", EGCAM_COLORMAP_JET, egcam__colormap_jet},
    {"viridis", EGCAM_COLORMAP_VIRIDIS, egcam__colormap_viridis},
    {"inferno", EGCAM_COLORMAP_INFERNO, egcam__colormap_inferno},
};

const uint8_t (*egcam__colormap_table(uint32_t colormap))[3]
{
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        if (maps[i].id == colormap)
            return maps[i].table;
    return NULL;
}

size_t egcam__colormap_index(float v)
{
    /* matplotlib's Colormap.__call__ for a float: floor(v * N), with v == 1
     * (and, as under/over colours default to the ends, anything outside
     * [0, 1]) going to the end entries. So each entry covers an equal 1/256
     * of [0, 1], where round(v * 255) would give the two ends half as much.
     * v * 256 is exact in float; NaN, which matplotlib paints as its "bad"
     * colour (transparent), counts as 0 here. */
    if (!(v > 0.0f)) /* also NaN */
        return 0;
    if (v >= 1.0f)
        return 255;
    size_t i = (size_t)(v * 256.0f);
    return i > 255 ? 255 : i;
}

egcam_status egcam_colormap(uint32_t colormap, float v, uint8_t rgb[3])
{
    const uint8_t(*table)[3] = egcam__colormap_table(colormap);
    if (!table)
        return EGCAM_E_INVALID_ARGUMENT;
    if (!rgb)
        return EGCAM_E_NULL_ARGUMENT;
    memcpy(rgb, table[egcam__colormap_index(v)], 3);
    return EGCAM_OK;
}

uint32_t egcam_colormap_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof maps / sizeof maps[0]; i++)
        if (strcmp(name, maps[i].name) == 0)
            return maps[i].id;
    return 0;
}
