/* vaprobe-frames.h - the test pictures of passdesk-vaprobe's functional
 * test and how their results are checked: the NV12 quadrant pattern that
 * VideoProc scales, and the headers of the test JPEG read into VA-API's
 * parameter buffers. Pure functions on memory (no libva calls), so unit
 * tests can check them without a GPU.
 */
#pragma once

#include <glib.h>
#include <va/va.h>
#include <va/va_dec_jpeg.h>

G_BEGIN_DECLS

/* Luma and chroma of the four quadrants: top left, top right, bottom left,
 * bottom right. Flat areas survive any scaling filter unchanged. */
extern const guint8 pd_vaprobe_quad_y[4];
extern const guint8 pd_vaprobe_quad_u[4];
extern const guint8 pd_vaprobe_quad_v[4];
extern const guint8 pd_vaprobe_flat_uv[4]; /* grey: 128 */
#define PD_VAPROBE_TOLERANCE 4

/* 0 top left, 1 top right, 2 bottom left, 3 bottom right. */
int pd_vaprobe_quadrant (int x, int y, int w, int h);
/* Writes the pattern (or, when @flat, luma 16 / chroma 128) into a mapped
 * NV12 image laid out as @img says. */
void pd_vaprobe_fill_nv12 (guint8 *base, const VAImage *img, int w, int h, gboolean flat);
/* TRUE when every sample away from the quadrant borders is within the
 * tolerance of luma pd_vaprobe_quad_y and chroma @want_u / @want_v; else
 * FALSE with @why naming how many differ and the first one. */
gboolean pd_vaprobe_check_nv12 (const guint8 *base, const VAImage *img, int w, int h,
                                const guint8 *want_u, const guint8 *want_v, char **why);

typedef struct
{
  VAPictureParameterBufferJPEGBaseline pic;
  VAIQMatrixBufferJPEGBaseline iq;
  VAHuffmanTableBufferJPEGBaseline huff;
  VASliceParameterBufferJPEGBaseline slice;
  const guint8 *scan;
  gsize scan_len;
} PdVaprobeJpeg;

/* Reads a baseline JPEG's headers into the buffers above; FALSE with @why
 * when it is not a baseline JPEG this can feed to VA-API. */
gboolean pd_vaprobe_parse_jpeg (const guint8 *data, gsize len, PdVaprobeJpeg *jp, char **why);

G_END_DECLS
