/*
 * egcam_version.h - the release and ABI versions of libegcam.
 *
 * This file is the single source of truth for both numbers: meson reads them
 * from here. The release version says what changed; only the ABI major says
 * whether a program built against an older header still runs (it becomes the
 * SONAME: libegcam.so.EGCAM_ABI_VERSION_MAJOR). See docs/abi.md.
 */
#ifndef EGCAM_VERSION_H
#define EGCAM_VERSION_H

#define EGCAM_VERSION_MAJOR 0
#define EGCAM_VERSION_MINOR 1
#define EGCAM_VERSION_PATCH 0

/* MAJOR*10000 + MINOR*100 + PATCH, comparable with egcam_version_number(). */
#define EGCAM_VERSION_NUMBER                                                                       \
  (EGCAM_VERSION_MAJOR * 10000 + EGCAM_VERSION_MINOR * 100 + EGCAM_VERSION_PATCH)

#define EGCAM_VERSION_STRING "0.1.0"

/* Bumped only on a deliberate, incompatible ABI break. */
#define EGCAM_ABI_VERSION_MAJOR 1

#endif /* EGCAM_VERSION_H */
