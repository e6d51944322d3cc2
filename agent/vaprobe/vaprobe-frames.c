/* vaprobe-frames.c - test pictures and their checks for passdesk-vaprobe. */
#include "vaprobe-frames.h"

#include <string.h>

/* Four flat quadrants (TL, TR, BL, BR): flat areas survive any scaling
 * filter, so their inner parts must come back with the same values. */
const guint8 pd_vaprobe_quad_y[4] = { 50, 100, 150, 200 };
const guint8 pd_vaprobe_quad_u[4] = { 90, 160, 110, 200 };
const guint8 pd_vaprobe_quad_v[4] = { 160, 90, 110, 60 };

int
pd_vaprobe_quadrant (int x, int y, int w, int h)
{
  return (x >= w / 2 ? 1 : 0) + (y >= h / 2 ? 2 : 0);
}

/* Writes the pattern (or a flat fill when @flat) into a mapped NV12 image. */
void
pd_vaprobe_fill_nv12 (guint8 *base, const VAImage *img, int w, int h, gboolean flat)
{
  for (int y = 0; y < h; y++)
    {
      guint8 *row = base + img->offsets[0] + (gsize) y * img->pitches[0];
      for (int x = 0; x < w; x++)
        row[x] = flat ? 16 : pd_vaprobe_quad_y[pd_vaprobe_quadrant (x, y, w, h)];
    }
  for (int y = 0; y < h / 2; y++)
    {
      guint8 *row = base + img->offsets[1] + (gsize) y * img->pitches[1];
      for (int x = 0; x < w / 2; x++)
        {
          int q = pd_vaprobe_quadrant (x, y, w / 2, h / 2);
          row[2 * x] = flat ? 128 : pd_vaprobe_quad_u[q];
          row[2 * x + 1] = flat ? 128 : pd_vaprobe_quad_v[q];
        }
    }
}

/* Near a quadrant border the filter mixes neighbours: skip those samples. */
static gboolean
near_border (int v, int size)
{
  int mid = size / 2;
  return v >= mid - 3 && v <= mid + 2;
}

const guint8 pd_vaprobe_flat_uv[4] = { 128, 128, 128, 128 };

/* Compares a mapped NV12 image with the quadrant pattern: luma quad_y,
 * chroma @want_u / @want_v. */
gboolean
pd_vaprobe_check_nv12 (const guint8 *base, const VAImage *img, int w, int h, const guint8 *want_u,
                       const guint8 *want_v, char **why)
{
  guint checked = 0, bad = 0;
  g_autofree char *first = NULL;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        if (near_border (x, w) || near_border (y, h))
          continue;
        int want = pd_vaprobe_quad_y[pd_vaprobe_quadrant (x, y, w, h)];
        int got = base[img->offsets[0] + (gsize) y * img->pitches[0] + x];
        checked++;
        if (ABS (got - want) > PD_VAPROBE_TOLERANCE)
          {
            if (bad++ == 0)
              first = g_strdup_printf ("luma at (%d,%d) is %d, expected %d", x, y, got, want);
          }
      }
  for (int y = 0; y < h / 2; y++)
    for (int x = 0; x < w / 2; x++)
      {
        if (near_border (x, w / 2) || near_border (y, h / 2))
          continue;
        int q = pd_vaprobe_quadrant (x, y, w / 2, h / 2);
        const guint8 *uv = base + img->offsets[1] + (gsize) y * img->pitches[1] + 2 * x;
        checked += 2;
        if (ABS (uv[0] - want_u[q]) > PD_VAPROBE_TOLERANCE
            || ABS (uv[1] - want_v[q]) > PD_VAPROBE_TOLERANCE)
          {
            if (bad++ == 0)
              first = g_strdup_printf ("chroma at (%d,%d) is %d/%d, expected %d/%d", x, y, uv[0],
                                       uv[1], want_u[q], want_v[q]);
          }
      }
  if (bad == 0 && checked > 0)
    return TRUE;
  *why = g_strdup_printf ("the GPU returned wrong pixels: %u of %u checked samples differ; %s", bad,
                          checked, first ? first : "nothing was checked");
  return FALSE;
}

/* Reads the baseline JPEG's headers into VA-API's parameter buffers. The
 * input is our own constant, but the parser still checks every length. */
gboolean
pd_vaprobe_parse_jpeg (const guint8 *d, gsize len, PdVaprobeJpeg *jp, char **why)
{
  memset (jp, 0, sizeof *jp);
  if (len < 4 || d[0] != 0xff || d[1] != 0xd8)
    goto bad;
  gsize i = 2;
  guint hmax = 1, vmax = 1;
  while (i + 4 <= len)
    {
      if (d[i] != 0xff)
        goto bad;
      guint8 marker = d[i + 1];
      gsize seg = ((gsize) d[i + 2] << 8) | d[i + 3];
      if (seg < 2 || i + 2 + seg > len)
        goto bad;
      const guint8 *p = d + i + 4;
      gsize n = seg - 2;
      switch (marker)
        {
        case 0xdb: /* DQT: 8-bit tables */
          for (gsize k = 0; k + 65 <= n; k += 65)
            {
              guint t = p[k] & 0x0f;
              if ((p[k] >> 4) != 0 || t > 3)
                goto bad;
              jp->iq.load_quantiser_table[t] = 1;
              memcpy (jp->iq.quantiser_table[t], p + k + 1, 64);
            }
          break;
        case 0xc0: /* SOF0: baseline */
          if (n < 6 || p[0] != 8)
            goto bad;
          jp->pic.picture_height = (guint16) ((p[1] << 8) | p[2]);
          jp->pic.picture_width = (guint16) ((p[3] << 8) | p[4]);
          jp->pic.num_components = p[5];
          if (p[5] < 1 || p[5] > 3 || n < 6 + 3u * p[5])
            goto bad;
          for (guint c = 0; c < p[5]; c++)
            {
              jp->pic.components[c].component_id = p[6 + 3 * c];
              jp->pic.components[c].h_sampling_factor = p[7 + 3 * c] >> 4;
              jp->pic.components[c].v_sampling_factor = p[7 + 3 * c] & 0x0f;
              jp->pic.components[c].quantiser_table_selector = p[8 + 3 * c];
              hmax = MAX (hmax, (guint) (p[7 + 3 * c] >> 4));
              vmax = MAX (vmax, (guint) (p[7 + 3 * c] & 0x0f));
            }
          break;
        case 0xc4: /* DHT */
          for (gsize k = 0; k + 17 <= n;)
            {
              guint cls = p[k] >> 4, id = p[k] & 0x0f;
              guint count = 0;
              for (guint b = 0; b < 16; b++)
                count += p[k + 1 + b];
              if (id > 1 || cls > 1 || k + 17 + count > n || count > (cls ? 162u : 12u))
                goto bad;
              jp->huff.load_huffman_table[id] = 1;
              if (cls == 0)
                {
                  memcpy (jp->huff.huffman_table[id].num_dc_codes, p + k + 1, 16);
                  memcpy (jp->huff.huffman_table[id].dc_values, p + k + 17, count);
                }
              else
                {
                  memcpy (jp->huff.huffman_table[id].num_ac_codes, p + k + 1, 16);
                  memcpy (jp->huff.huffman_table[id].ac_values, p + k + 17, count);
                }
              k += 17 + count;
            }
          break;
        case 0xdd: /* DRI */
          if (n < 2)
            goto bad;
          jp->slice.restart_interval = (guint16) ((p[0] << 8) | p[1]);
          break;
        case 0xda: /* SOS, then the entropy-coded data up to EOI */
          {
            if (n < 1 || p[0] < 1 || p[0] > 3 || n < 1 + 2u * p[0] + 3)
              goto bad;
            jp->slice.num_components = p[0];
            for (guint c = 0; c < p[0]; c++)
              {
                jp->slice.components[c].component_selector = p[1 + 2 * c];
                jp->slice.components[c].dc_table_selector = p[2 + 2 * c] >> 4;
                jp->slice.components[c].ac_table_selector = p[2 + 2 * c] & 0x0f;
              }
            gsize start = i + 2 + seg;
            gsize end = start;
            while (end + 1 < len && !(d[end] == 0xff && d[end + 1] == 0xd9))
              end++;
            if (end + 1 >= len || jp->pic.picture_width == 0)
              goto bad;
            jp->scan = d + start;
            jp->scan_len = end - start;
            jp->slice.slice_data_size = (guint32) jp->scan_len;
            jp->slice.slice_data_offset = 0;
            jp->slice.slice_data_flag = VA_SLICE_DATA_FLAG_ALL;
            guint mcu_w = 8 * hmax, mcu_h = 8 * vmax;
            jp->slice.num_mcus = ((jp->pic.picture_width + mcu_w - 1) / mcu_w)
                                 * ((jp->pic.picture_height + mcu_h - 1) / mcu_h);
            return TRUE;
          }
        default: /* APPn, COM: skip */
          break;
        }
      i += 2 + seg;
    }
bad:
  *why = g_strdup ("the built-in test JPEG could not be parsed (a passdesk bug)");
  return FALSE;
}
