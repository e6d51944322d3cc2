/* fuzz-hostlink-decode.c - libFuzzer target for the hostlink codec: the line
 * assembler fed in uneven chunks, the decoder on every line, and for every
 * line that decodes, encode → decode must give the same message back. */
#include <stdint.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_roundtrip (const PdHlMessage *m)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  g_autofree char *line = pd_hl_encode (m, &len, &error);
  /* A decoded message is valid, but re-encoding may grow it past the limit
   * (encoded vchars come back shorter, never longer: "%41" → "A"); so it
   * must always encode. */
  if (!line)
    g_error ("decoded message does not encode: %s", error->message);
  g_assert_cmpuint (len, <=, PD_HL_MAX_LINE);
  g_autoptr (PdHlMessage) back = pd_hl_decode (line, len - 1, NULL, &error);
  if (!back)
    g_error ("encoded line does not decode: %s", error->message);
  g_assert_cmpint (back->verb, ==, m->verb);
  g_assert_cmpuint (back->id, ==, m->id);
  g_assert_cmpuint (back->args->len, ==, m->args->len);
  for (guint i = 0; i < m->args->len; i++)
    {
      PdHlArg *a = g_ptr_array_index (m->args, i);
      PdHlArg *b = g_ptr_array_index (back->args, i);
      g_assert_cmpstr (a->key, ==, b->key);
      g_assert_cmpstr (a->value, ==, b->value);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* The first byte picks the chunk size, so the assembler's chunk
   * boundaries get fuzzed too. */
  gsize chunk = size ? (gsize) (data[0] % 64) + 1 : 1;
  g_autoptr (PdHlLineBuf) buf = pd_hl_line_buf_new ();
  pd_hl_line_buf_reset (buf, size && (data[0] & 0x80));
  gsize off = 0;
  while (off < size)
    {
      gsize n = MIN (chunk, size - off);
      const char *p = (const char *) data + off;
      off += n;
      while (n > 0)
        {
          gsize used = 0;
          const char *line = NULL;
          gsize line_len = 0;
          PdHlLineStatus st = pd_hl_line_buf_push (buf, p, n, &used, &line, &line_len);
          g_assert_cmpuint (used, <=, n);
          p += used;
          n -= used;
          if (st == PD_HL_LINE_NEED_MORE)
            g_assert_cmpuint (n, ==, 0);
          if (st != PD_HL_LINE_READY)
            continue;
          g_assert_cmpuint (line_len, <, PD_HL_MAX_LINE);
          g_assert_null (memchr (line, '\n', line_len));
          g_autoptr (GError) error = NULL;
          guint32 bad_id = 0;
          g_autoptr (PdHlMessage) m = pd_hl_decode (line, line_len, &bad_id, &error);
          if (m)
            check_roundtrip (m);
          else
            {
              g_assert_nonnull (error);
              g_assert_true (error->domain == PD_HL_CODEC_ERROR);
            }
        }
    }

  /* The whole input as one line, as a caller with its own framing would. */
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHlMessage) m = pd_hl_decode ((const char *) data, size, NULL, &error);
  if (m)
    check_roundtrip (m);
  return 0;
}
