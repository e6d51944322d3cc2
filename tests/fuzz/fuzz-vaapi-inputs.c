/* fuzz-vaapi-inputs.c - libFuzzer target for what the vaapi check reads from
 * outside: the probe's JSON report (a child running a GPU driver), the dpkg
 * status file and apt sources in both formats. The first byte picks the
 * parser; the rest is its input. Results must be well formed and any
 * planned sed command must stay one shell word per edit. */
#include <stdint.h>
#include <string.h>

#include "apt-sources.h"
#include "dpkg-status.h"
#include "vaprobe-report.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const wanted[] = { "main", "contrib", "non-free", "non-free-firmware", NULL };

static void
check_report (const PdVaprobeReport *r)
{
  g_assert_nonnull (r->status);
  g_assert_nonnull (r->decode);
  g_assert_nonnull (r->encode);
  g_assert_true (!r->functional_passed || r->functional_ran);
  g_assert_cmpuint (g_strv_length (r->decode), <=, 32);
  for (guint i = 0; r->decode[i]; i++)
    g_assert_true (g_utf8_validate (r->decode[i], -1, NULL));
}

static void
check_sources (PdAptSources *s)
{
  for (guint i = 0; i < s->entries->len; i++)
    {
      const PdAptEntry *e = s->entries->pdata[i];
      g_assert_nonnull (e->uri);
      g_assert_nonnull (e->suites);
      g_assert_nonnull (e->components);
      if (e->format == PD_APT_FORMAT_ONE_LINE)
        g_assert_cmpuint (e->line, >=, 1);
      else if (e->line == 0)
        g_assert_null (e->line_text);
    }
  g_autofree char *text = NULL, *cmd = NULL;
  if (pd_apt_sources_plan_components (s, wanted, &text, &cmd))
    {
      g_assert_nonnull (text);
      /* Lines with quotes or control characters never reach a command. */
      for (const char *c = cmd; c && *c; c++)
        g_assert_true ((guchar) *c >= 0x20);
    }
  else
    {
      g_assert_null (text);
      g_assert_null (cmd);
    }
  (void) pd_apt_sources_debian_suite (s);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const char *text = (const char *) data + 1;
  gsize len = size - 1;
  switch (data[0] % 4)
    {
    case 0:
      {
        g_autoptr (PdVaprobeReport) r = pd_vaprobe_report_parse (text, len, NULL);
        if (r)
          check_report (r);
        break;
      }
    case 1:
      {
        g_autoptr (PdDpkgStatus) st = pd_dpkg_status_parse (text, len);
        g_assert_cmpuint (pd_dpkg_status_count (st), <=, len);
        break;
      }
    default:
      {
        /* The file readers refuse NUL bytes; the parsers take C strings. */
        g_autofree char *s = g_strndup (text, len);
        g_autoptr (PdAptSources) src = pd_apt_sources_new ();
        if (data[0] % 4 == 2)
          pd_apt_sources_parse_one_line (src, "/etc/apt/sources.list", s);
        else
          pd_apt_sources_parse_deb822 (src, "/etc/apt/sources.list.d/debian.sources", s);
        check_sources (src);
        break;
      }
    }
  return 0;
}
