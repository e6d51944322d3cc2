/* fuzz-logscan.c - libFuzzer target for the kernel-log scanner: the input is
 * split into lines for pd_log_scanner_feed_line and, separately, fed whole as
 * one /dev/kmsg message. Every finding must be well formed. */
#include <stdint.h>
#include <string.h>

#include "logscan-rules.h"
#include "logscan.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (GPtrArray *found, guint lineno)
{
  for (guint i = 0; found && i < found->len; i++)
    {
      const PdLogFinding *f = found->pdata[i];
      g_assert_nonnull (pd_log_kind_lookup (f->kind->kind));
      g_assert_cmpuint (f->line, <=, lineno);
      g_assert_cmpuint (strlen (f->excerpt), <=, PD_LOG_EXCERPT_MAX);
      g_assert_true (g_utf8_validate (f->excerpt, -1, NULL));
      for (const char *c = f->excerpt; *c; c++)
        g_assert_cmpint ((guchar) *c, >=, 0x20);
      /* devices are printable ASCII, bounded */
      for (const char *c = f->device; c && *c; c++)
        g_assert_true ((guchar) *c > 0x20 && (guchar) *c < 0x7f);
      g_assert_cmpuint (f->device ? strlen (f->device) : 0, <=, 64);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data, *end = p + size;
  g_autoptr (PdLogScanner) s = pd_log_scanner_new ();
  guint lineno = 0;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize n = nl ? (gsize) (nl - p) : (gsize) (end - p);
      g_autoptr (GPtrArray) found = pd_log_scanner_feed_line (s, p, n, ++lineno);
      check (found, lineno);
      p += n + 1;
    }
  g_autoptr (PdLogScanner) k = pd_log_scanner_new ();
  g_autoptr (GPtrArray) found = pd_log_scanner_feed_message (k, (const char *) data, size,
                                                             size ? (gint64) data[0] << 20 : -1, 1);
  check (found, 1);
  return 0;
}
