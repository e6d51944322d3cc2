/* dpkg-status.c - installed packages from the dpkg status file. */
#include "dpkg-status.h"

#include <gio/gio.h>
#include <string.h>

#include "sysroot.h"

struct _PdDpkgStatus
{
  GHashTable *installed; /* package name -> version ("" when none given) */
};

static PdDpkgStatus *
status_new (void)
{
  PdDpkgStatus *st = g_new0 (PdDpkgStatus, 1);
  st->installed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

void
pd_dpkg_status_free (PdDpkgStatus *status)
{
  if (status == NULL)
    return;
  g_hash_table_unref (status->installed);
  g_free (status);
}

/* A stanza's fields of interest, as slices of the input. */
typedef struct
{
  const char *package, *status, *version;
  gsize package_len, status_len, version_len;
} Stanza;

static gboolean
status_says_installed (const char *s, gsize len)
{
  /* "want flag status": the last word is the state. */
  while (len > 0 && g_ascii_isspace (s[len - 1]))
    len--;
  static const char word[] = "installed";
  const gsize wlen = sizeof word - 1;
  if (len < wlen || memcmp (s + len - wlen, word, wlen) != 0)
    return FALSE;
  /* "not-installed", "half-installed" and "config-files" do not count. */
  return len == wlen || g_ascii_isspace (s[len - wlen - 1]);
}

static void
stanza_commit (PdDpkgStatus *st, const Stanza *sz)
{
  if (sz->package == NULL || sz->status == NULL || sz->package_len == 0)
    return;
  if (!status_says_installed (sz->status, sz->status_len))
    return;
  g_autofree char *name = g_strstrip (g_strndup (sz->package, sz->package_len));
  if (name[0] == '\0' || strchr (name, ' ') != NULL)
    return;
  char *version
      = sz->version ? g_strstrip (g_strndup (sz->version, sz->version_len)) : g_strdup ("");
  /* Multi-arch packages appear once per architecture; any counts. */
  g_hash_table_replace (st->installed, g_steal_pointer (&name), version);
}

static void
field_value (const char *line, gsize line_len, gsize key_len, const char **out, gsize *out_len)
{
  const char *v = line + key_len + 1; /* past "Key:" */
  gsize n = line_len - key_len - 1;
  while (n > 0 && (*v == ' ' || *v == '\t'))
    v++, n--;
  *out = v;
  *out_len = n;
}

PdDpkgStatus *
pd_dpkg_status_parse (const char *text, gsize len)
{
  PdDpkgStatus *st = status_new ();
  Stanza sz = { 0 };
  const char *p = text;
  const char *end = text + len;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      const char *line_end = nl ? nl : end;
      gsize line_len = (gsize) (line_end - p);
      if (line_len > 0 && p[line_len - 1] == '\r')
        line_len--;

      gboolean blank = TRUE;
      for (gsize i = 0; i < line_len; i++)
        if (!g_ascii_isspace (p[i]))
          {
            blank = FALSE;
            break;
          }

      if (blank)
        {
          stanza_commit (st, &sz);
          memset (&sz, 0, sizeof sz);
        }
      else if (p[0] != ' ' && p[0] != '\t' && p[0] != '#')
        {
          /* A field; continuation lines (leading space) belong to fields we
           * do not need (Description, Conffiles). */
          if (line_len > 8 && g_ascii_strncasecmp (p, "Package:", 8) == 0)
            field_value (p, line_len, 7, &sz.package, &sz.package_len);
          else if (line_len > 7 && g_ascii_strncasecmp (p, "Status:", 7) == 0)
            field_value (p, line_len, 6, &sz.status, &sz.status_len);
          else if (line_len > 8 && g_ascii_strncasecmp (p, "Version:", 8) == 0)
            field_value (p, line_len, 7, &sz.version, &sz.version_len);
        }
      p = nl ? nl + 1 : end;
    }
  stanza_commit (st, &sz);
  return st;
}

PdDpkgStatus *
pd_dpkg_status_load (GError **error)
{
  gsize len = 0;
  g_autofree char *buf = pd_sysroot_read_file ("/var/lib/dpkg/status", PD_DPKG_STATUS_MAX_BYTES,
                                               PD_SYSROOT_READ_ALLOW_NUL, &len, error);
  if (buf == NULL)
    return NULL;
  return pd_dpkg_status_parse (buf, len);
}

gboolean
pd_dpkg_status_is_installed (const PdDpkgStatus *status, const char *package)
{
  return status != NULL && package != NULL && g_hash_table_contains (status->installed, package);
}

const char *
pd_dpkg_status_version (const PdDpkgStatus *status, const char *package)
{
  if (status == NULL || package == NULL)
    return NULL;
  return g_hash_table_lookup (status->installed, package);
}

guint
pd_dpkg_status_count (const PdDpkgStatus *status)
{
  return status ? g_hash_table_size (status->installed) : 0;
}
