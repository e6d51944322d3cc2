/* test-vaprobe-frames.c - what passdesk-vaprobe's functional test relies on,
 * checked without a GPU: the NV12 pattern check (passes on the right
 * picture, names the first wrong sample otherwise, honours pitches), and the
 * built-in JPEG: its headers parse into VA-API's buffers, and a software
 * decode of its scan through those very buffers gives the pattern the probe
 * expects from the GPU. */
#include <string.h>

#include "vaprobe-frames.h"
#include "vaprobe-jpeg.h"

/* An NV12 image in memory with a pitch wider than the picture. */
static guint8 *
make_nv12 (int w, int h, VAImage *img)
{
  memset (img, 0, sizeof *img);
  img->format.fourcc = VA_FOURCC_NV12;
  img->width = (guint16) w;
  img->height = (guint16) h;
  img->num_planes = 2;
  img->pitches[0] = img->pitches[1] = (guint32) (w + 24);
  img->offsets[0] = 0;
  img->offsets[1] = img->pitches[0] * (guint32) h + 64;
  img->data_size = img->offsets[1] + img->pitches[1] * (guint32) h / 2;
  guint8 *buf = g_malloc (img->data_size);
  memset (buf, 0xee, img->data_size); /* padding that must never be read as pixels */
  return buf;
}

static void
test_check_pattern (void)
{
  VAImage img;
  g_autofree guint8 *buf = make_nv12 (32, 32, &img);
  pd_vaprobe_fill_nv12 (buf, &img, 32, 32, FALSE);
  g_autofree char *why = NULL;
  g_assert_true (
      pd_vaprobe_check_nv12 (buf, &img, 32, 32, pd_vaprobe_quad_u, pd_vaprobe_quad_v, &why));
  g_assert_null (why);

  /* Within tolerance still passes. */
  buf[img.offsets[0] + 3 * img.pitches[0] + 3] += PD_VAPROBE_TOLERANCE;
  g_assert_true (
      pd_vaprobe_check_nv12 (buf, &img, 32, 32, pd_vaprobe_quad_u, pd_vaprobe_quad_v, &why));

  /* One wrong luma sample in the bottom right quadrant. */
  buf[img.offsets[0] + 28 * img.pitches[0] + 25] = 20;
  g_assert_false (
      pd_vaprobe_check_nv12 (buf, &img, 32, 32, pd_vaprobe_quad_u, pd_vaprobe_quad_v, &why));
  g_assert_nonnull (strstr (why, "1 of "));
  g_assert_nonnull (strstr (why, "luma at (25,28) is 20, expected 200"));
  g_clear_pointer (&why, g_free);

  /* Swapped chroma. */
  pd_vaprobe_fill_nv12 (buf, &img, 32, 32, FALSE);
  g_assert_false (
      pd_vaprobe_check_nv12 (buf, &img, 32, 32, pd_vaprobe_quad_v, pd_vaprobe_quad_u, &why));
  g_assert_nonnull (strstr (why, "chroma at (0,0) is 90/160, expected 160/90"));
  g_clear_pointer (&why, g_free);

  /* A target the GPU never wrote (still the flat pre-fill). */
  pd_vaprobe_fill_nv12 (buf, &img, 32, 32, TRUE);
  g_assert_false (
      pd_vaprobe_check_nv12 (buf, &img, 32, 32, pd_vaprobe_quad_u, pd_vaprobe_quad_v, &why));
  g_assert_nonnull (strstr (why, "luma at (0,0) is 16, expected 50"));
}

/* --- a minimal baseline Huffman decoder, for the test only --- */

typedef struct
{
  const guint8 *d;
  gsize len, pos;
  guint bits;
  int nbits;
} Bits;

static int
get_bit (Bits *b)
{
  if (b->nbits == 0)
    {
      g_assert_cmpuint (b->pos, <, b->len);
      guint8 byte = b->d[b->pos++];
      if (byte == 0xff)
        {
          g_assert_cmpuint (b->pos, <, b->len);
          g_assert_cmpuint (b->d[b->pos], ==, 0x00); /* stuffed byte, no markers here */
          b->pos++;
        }
      b->bits = byte;
      b->nbits = 8;
    }
  return (int) ((b->bits >> --b->nbits) & 1);
}

static int
get_bits (Bits *b, int n)
{
  int v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 1) | get_bit (b);
  return v;
}

static int
decode_symbol (Bits *b, const guint8 counts[16], const guint8 *values)
{
  int code = 0, first = 0, index = 0;
  for (int l = 0; l < 16; l++)
    {
      code |= get_bit (b);
      if (code - first < counts[l])
        return values[index + code - first];
      index += counts[l];
      first = (first + counts[l]) << 1;
      code <<= 1;
    }
  g_assert_not_reached ();
  return -1;
}

static int
extend (int v, int s)
{
  return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

/* Decodes one block; returns its DC (after prediction), counts AC values. */
static int
decode_block (Bits *b, const PdVaprobeJpeg *jp, int comp, int *pred, int *nonzero_ac)
{
  int dc_t = jp->slice.components[comp].dc_table_selector;
  int ac_t = jp->slice.components[comp].ac_table_selector;
  int s = decode_symbol (b, jp->huff.huffman_table[dc_t].num_dc_codes,
                         jp->huff.huffman_table[dc_t].dc_values);
  *pred += s ? extend (get_bits (b, s), s) : 0;
  for (int k = 1; k < 64;)
    {
      int rs = decode_symbol (b, jp->huff.huffman_table[ac_t].num_ac_codes,
                              jp->huff.huffman_table[ac_t].ac_values);
      int r = rs >> 4, sz = rs & 15;
      if (sz == 0)
        {
          if (r != 15)
            break; /* end of block */
          k += 16;
          continue;
        }
      k += r;
      if (extend (get_bits (b, sz), sz) != 0)
        (*nonzero_ac)++;
      k++;
    }
  return *pred;
}

static void
test_jpeg_parse_and_decode (void)
{
  PdVaprobeJpeg jp;
  g_autofree char *why = NULL;
  g_assert_true (pd_vaprobe_parse_jpeg (pd_vaprobe_jpeg, sizeof pd_vaprobe_jpeg, &jp, &why));
  g_assert_cmpuint (jp.pic.picture_width, ==, PD_VAPROBE_JPEG_SIZE);
  g_assert_cmpuint (jp.pic.picture_height, ==, PD_VAPROBE_JPEG_SIZE);
  g_assert_cmpuint (jp.pic.num_components, ==, 3);
  g_assert_cmpuint (jp.pic.components[0].h_sampling_factor, ==, 2); /* 4:2:0 */
  g_assert_cmpuint (jp.pic.components[0].v_sampling_factor, ==, 2);
  g_assert_cmpuint (jp.pic.components[1].h_sampling_factor, ==, 1);
  g_assert_cmpuint (jp.pic.components[2].quantiser_table_selector, ==, 1);
  g_assert_true (jp.iq.load_quantiser_table[0] && jp.iq.load_quantiser_table[1]);
  g_assert_true (jp.huff.load_huffman_table[0] && jp.huff.load_huffman_table[1]);
  g_assert_cmpuint (jp.slice.num_components, ==, 3);
  g_assert_cmpuint (jp.slice.num_mcus, ==, 4);
  g_assert_cmpuint (jp.slice.restart_interval, ==, 0);
  g_assert_cmpuint (jp.slice.slice_data_flag, ==, VA_SLICE_DATA_FLAG_ALL);
  g_assert_cmpuint (jp.slice.slice_data_size, ==, jp.scan_len);
  g_assert_true (jp.scan > pd_vaprobe_jpeg
                 && jp.scan + jp.scan_len + 2 == pd_vaprobe_jpeg + sizeof pd_vaprobe_jpeg);

  /* Decode the scan with the parsed tables: MCUs of 4 luma, 1 Cb, 1 Cr. */
  Bits b = { jp.scan, jp.scan_len, 0, 0, 0 };
  int pred[3] = { 0, 0, 0 };
  int nonzero_ac = 0;
  for (int mcu = 0; mcu < 4; mcu++)
    {
      int quadrant = mcu; /* 16x16 MCUs in raster order = the quadrants */
      for (int blk = 0; blk < 4; blk++)
        {
          int dc = decode_block (&b, &jp, 0, &pred[0], &nonzero_ac);
          int q0 = jp.iq.quantiser_table[jp.pic.components[0].quantiser_table_selector][0];
          g_assert_cmpint (dc * q0 / 8 + 128, ==, pd_vaprobe_quad_y[quadrant]);
        }
      for (int c = 1; c <= 2; c++)
        {
          int dc = decode_block (&b, &jp, c, &pred[c], &nonzero_ac);
          int q = jp.iq.quantiser_table[jp.pic.components[c].quantiser_table_selector][0];
          g_assert_cmpint (dc * q / 8 + 128, ==, pd_vaprobe_flat_uv[quadrant]);
        }
    }
  /* Flat blocks: DC only, so any correct decoder gives exact values. */
  g_assert_cmpint (nonzero_ac, ==, 0);
}

static void
test_jpeg_rejects_bad (void)
{
  PdVaprobeJpeg jp;
  for (gsize cut = 0; cut < sizeof pd_vaprobe_jpeg - 1; cut += 7)
    {
      g_autofree char *why = NULL;
      g_assert_false (pd_vaprobe_parse_jpeg (pd_vaprobe_jpeg, cut, &jp, &why));
      g_assert_nonnull (why);
    }
  guint8 bad[sizeof pd_vaprobe_jpeg];
  memcpy (bad, pd_vaprobe_jpeg, sizeof bad);
  bad[1] = 0xd9; /* not SOI */
  g_autofree char *why = NULL;
  g_assert_false (pd_vaprobe_parse_jpeg (bad, sizeof bad, &jp, &why));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vaprobe-frames/check-pattern", test_check_pattern);
  g_test_add_func ("/vaprobe-frames/jpeg-parse-and-decode", test_jpeg_parse_and_decode);
  g_test_add_func ("/vaprobe-frames/jpeg-rejects-bad", test_jpeg_rejects_bad);
  return g_test_run ();
}
