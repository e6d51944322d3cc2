/* pd-i18n.c - see pd-i18n.h. */
#include "config.h"

#include "pd-i18n.h"

#include <libintl.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

static const char *localedir = LOCALEDIR;

const char *
pd_i18n_localedir (void)
{
  return localedir;
}

void
pd_i18n_init (void)
{
  setlocale (LC_ALL, "");
  /* Only the test suite sets this (to the build tree's po/); a set-uid or
   * set-gid caller cannot redirect a privileged program's words. */
  const char *env = g_getenv ("PASSDESK_LOCALEDIR");
  if (env != NULL && *env != '\0' && getuid () == geteuid () && getgid () == getegid ())
    localedir = env;
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}

const char *
pd_i18n_text (const char *english)
{
  if (english == NULL || *english == '\0')
    return english;
  return dgettext (GETTEXT_PACKAGE, english);
}

/* One conversion of a printf format: *p points after '%'. Fills @spec with
 * the conversion without any "N$" (for formatting one argument) and
 * returns its conversion character, or 0 for one we do not take. */
static char
parse_spec (const char **p, int *position, char *spec, gsize spec_size, int *length)
{
  const char *s = *p;
  *position = 0;
  *length = 0;
  const char *digits = s;
  while (g_ascii_isdigit (*s))
    s++;
  if (*s == '$' && s > digits)
    {
      *position = atoi (digits);
      s++;
    }
  else
    s = digits;
  const char *start = s;
  while (*s && strchr ("-+ #0'", *s))
    s++;
  while (g_ascii_isdigit (*s))
    s++;
  if (*s == '.')
    {
      s++;
      while (g_ascii_isdigit (*s))
        s++;
    }
  /* length: 1 h/hh, 2 l, 3 ll/j, 4 z/t */
  if (*s == 'h')
    {
      s++;
      if (*s == 'h')
        s++;
      *length = 1;
    }
  else if (*s == 'l')
    {
      s++;
      *length = 2;
      if (*s == 'l')
        {
          s++;
          *length = 3;
        }
    }
  else if (*s == 'j')
    s++, *length = 3;
  else if (*s == 'z' || *s == 't')
    s++, *length = 4;
  char conv = *s;
  if (conv == '\0' || !strchr ("diuxXocsfgeEG", conv))
    return 0;
  s++;
  gsize n = (gsize) (s - start);
  if (n + 2 > spec_size)
    return 0;
  spec[0] = '%';
  memcpy (spec + 1, start, n);
  spec[n + 1] = '\0';
  *p = s;
  return conv;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *
format_one (const char *spec, char conv, int length, va_list *ap)
{
  switch (conv)
    {
    case 's':
      {
        const char *v = va_arg (*ap, const char *);
        return g_strdup_printf (spec, v ? v : "(null)");
      }
    case 'c':
      return g_strdup_printf (spec, va_arg (*ap, int));
    case 'f':
    case 'g':
    case 'e':
    case 'E':
    case 'G':
      return g_strdup_printf (spec, va_arg (*ap, double));
    case 'd':
    case 'i':
      if (length == 2)
        return g_strdup_printf (spec, va_arg (*ap, long));
      if (length == 3)
        return g_strdup_printf (spec, va_arg (*ap, long long));
      if (length == 4)
        return g_strdup_printf (spec, va_arg (*ap, gssize));
      return g_strdup_printf (spec, va_arg (*ap, int));
    default: /* u x X o */
      if (length == 2)
        return g_strdup_printf (spec, va_arg (*ap, unsigned long));
      if (length == 3)
        return g_strdup_printf (spec, va_arg (*ap, unsigned long long));
      if (length == 4)
        return g_strdup_printf (spec, va_arg (*ap, gsize));
      return g_strdup_printf (spec, va_arg (*ap, unsigned int));
    }
}
#pragma GCC diagnostic pop

/* The arguments of @fmt as strings, in order; NULL for a format we cannot
 * take apart (positional formats are for translations only). */
static GStrv
capture_args (const char *fmt, va_list ap)
{
  g_autoptr (GPtrArray) b = g_ptr_array_new_with_free_func (g_free);
  va_list aq;
  va_copy (aq, ap);
  for (const char *p = fmt; *p; p++)
    {
      if (*p != '%')
        continue;
      if (p[1] == '%')
        {
          p++;
          continue;
        }
      const char *q = p + 1;
      int position, length;
      char spec[32];
      char conv = parse_spec (&q, &position, spec, sizeof spec, &length);
      if (conv == 0 || position != 0)
        {
          va_end (aq);
          return NULL;
        }
      char *one = format_one (spec, conv, length, &aq);
      g_ptr_array_add (b, one);
      p = q - 1;
    }
  va_end (aq);
  g_ptr_array_add (b, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&b), FALSE);
}

/* Puts @args into @fmt in place of its conversions; NULL when the format
 * asks for an argument that is not there. */
static char *
fill (const char *fmt, const GStrv args, gboolean translate)
{
  guint n_args = args ? g_strv_length (args) : 0;
  guint next = 0;
  g_autoptr (GString) out = g_string_new (NULL);
  for (const char *p = fmt; *p; p++)
    {
      if (*p != '%')
        {
          g_string_append_c (out, *p);
          continue;
        }
      if (p[1] == '%')
        {
          g_string_append_c (out, '%');
          p++;
          continue;
        }
      const char *q = p + 1;
      int position, length;
      char spec[32];
      if (parse_spec (&q, &position, spec, sizeof spec, &length) == 0)
        return NULL;
      guint index = position > 0 ? (guint) position - 1 : next++;
      if (index >= n_args)
        return NULL;
      /* "%.0s" lets a translation leave out an argument its language does
       * not need (an English plural "s"); other precisions were applied
       * when the argument was recorded. */
      /* An argument that is itself a marked sentence or word (N_) is worded
       * in the same language; anything else (names, numbers) stays. */
      if (!g_str_has_suffix (spec, ".0s"))
        g_string_append (out, translate ? dgettext (GETTEXT_PACKAGE, args[index]) : args[index]);
      p = q - 1;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

PdMsg *
pd_msg_new_valist (const char *fmt, va_list ap)
{
  PdMsg *m = g_new0 (PdMsg, 1);
  m->msgid = g_strdup (fmt);
  m->args = capture_args (fmt, ap);
  if (m->args != NULL)
    m->english = fill (fmt, m->args, FALSE);
  if (m->english == NULL)
    {
      va_list aq;
      va_copy (aq, ap);
      m->english = g_strdup_vprintf (fmt, aq);
      va_end (aq);
    }
  return m;
}

PdMsg *
pd_msg_new_printf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  PdMsg *m = pd_msg_new_valist (fmt, ap);
  va_end (ap);
  return m;
}

PdMsg *
pd_msg_new_plural (const char *msgid, const char *msgid_plural, gulong n, ...)
{
  va_list ap;
  va_start (ap, n);
  PdMsg *m = pd_msg_new_valist (n == 1 ? msgid : msgid_plural, ap);
  va_end (ap);
  g_free (m->msgid);
  m->msgid = g_strdup (msgid);
  m->msgid_plural = g_strdup (msgid_plural);
  m->n = n;
  return m;
}

PdMsg *
pd_msg_copy (const PdMsg *m)
{
  PdMsg *c = g_new0 (PdMsg, 1);
  c->msgid = g_strdup (m->msgid);
  c->msgid_plural = g_strdup (m->msgid_plural);
  c->n = m->n;
  c->args = g_strdupv (m->args);
  c->english = g_strdup (m->english);
  return c;
}

void
pd_msg_free (PdMsg *m)
{
  if (m == NULL)
    return;
  g_free (m->msgid);
  g_free (m->msgid_plural);
  g_strfreev (m->args);
  g_free (m->english);
  g_free (m);
}

char *
pd_msg_localize (const PdMsg *m)
{
  if (m->args == NULL)
    return g_strdup (m->english);
  const char *fmt = m->msgid_plural ? dngettext (GETTEXT_PACKAGE, m->msgid, m->msgid_plural, m->n)
                                    : dgettext (GETTEXT_PACKAGE, m->msgid);
  char *text = fill (fmt, m->args, TRUE);
  return text ? text : g_strdup (m->english);
}

typedef struct
{
  locale_t old;
} Use;

static gboolean
locale_name_ok (const char *locale)
{
  if (locale == NULL || *locale == '\0' || strlen (locale) > 64)
    return FALSE;
  for (const char *p = locale; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("_.@-", *p))
      return FALSE;
  return TRUE;
}

gpointer
pd_i18n_use_locale (const char *locale)
{
  /* A few locales serve every client; each newlocale() is kept. */
  static GHashTable *cache;
  if (!locale_name_ok (locale))
    return NULL;
  if (cache == NULL)
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  locale_t loc = g_hash_table_lookup (cache, locale);
  if (loc == NULL)
    {
      if (g_hash_table_size (cache) >= 16)
        return NULL;
      loc = newlocale (LC_MESSAGES_MASK | LC_CTYPE_MASK, locale, (locale_t) 0);
      if (loc == (locale_t) 0)
        return NULL;
      g_hash_table_insert (cache, g_strdup (locale), loc);
    }
  Use *u = g_new0 (Use, 1);
  u->old = uselocale (loc);
  return u;
}

void
pd_i18n_restore (gpointer handle)
{
  Use *u = handle;
  if (u == NULL)
    return;
  uselocale (u->old);
  g_free (u);
}

const char *
pd_i18n_messages_locale (void)
{
  const char *l = setlocale (LC_MESSAGES, NULL);
  /* C, C.UTF-8 and POSIX print the msgids: nothing to ask for. */
  if (l == NULL || strcmp (l, "C") == 0 || g_str_has_prefix (l, "C.") || strcmp (l, "POSIX") == 0)
    return "";
  return l;
}
