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
static char *localize_arg (const char *arg);

static char *
fill (const char *fmt, const GStrv args, PdMsg *const *subs, gboolean translate)
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
      if (g_str_has_suffix (spec, ".0s"))
        ;
      else if (!translate)
        g_string_append (out, args[index]);
      else if (subs != NULL && subs[index] != NULL)
        {
          g_autofree char *sub = pd_msg_localize (subs[index]);
          g_string_append (out, sub);
        }
      else
        {
          g_autofree char *word = localize_arg (args[index]);
          g_string_append (out, word);
        }
      p = q - 1;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void attach_subs (PdMsg *m);

PdMsg *
pd_msg_new_valist (const char *fmt, va_list ap)
{
  PdMsg *m = g_new0 (PdMsg, 1);
  m->msgid = g_strdup (fmt);
  m->args = capture_args (fmt, ap);
  if (m->args != NULL)
    m->english = fill (fmt, m->args, NULL, FALSE);
  if (m->english == NULL)
    {
      va_list aq;
      va_copy (aq, ap);
      m->english = g_strdup_vprintf (fmt, aq);
      va_end (aq);
    }
  attach_subs (m);
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

/* The plural's recipe: n picks the English form; both msgids are kept for
 * the translation. */
static PdMsg *
msg_new_plural_valist (const char *msgid, const char *msgid_plural, gulong n, va_list ap)
{
  /* Either form is the caller's format (checked at its call site). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  PdMsg *m = pd_msg_new_valist (n == 1 ? msgid : msgid_plural, ap);
#pragma GCC diagnostic pop
  g_free (m->msgid);
  m->msgid = g_strdup (msgid);
  m->msgid_plural = g_strdup (msgid_plural);
  m->n = n;
  return m;
}

/* The number of conversions of @fmt, or -1 when one is not ours. */
static int
count_conversions (const char *fmt)
{
  int n = 0;
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
      if (parse_spec (&q, &position, spec, sizeof spec, &length) == 0 || position != 0)
        return -1;
      n++;
      p = q - 1;
    }
  return n;
}

PdMsg *
pd_msg_new_from_strings (const char *fmt, const char *const *args)
{
  guint n = args ? g_strv_length ((GStrv) args) : 0;
  int want = count_conversions (fmt);
  if (want < 0 || (guint) want != n)
    return NULL;
  PdMsg *m = g_new0 (PdMsg, 1);
  m->msgid = g_strdup (fmt);
  m->args = n ? g_strdupv ((GStrv) args) : g_new0 (char *, 1);
  m->english = fill (fmt, m->args, NULL, FALSE);
  if (m->english == NULL)
    {
      pd_msg_free (m);
      return NULL;
    }
  return m;
}

PdMsg *
pd_msg_new_plural (const char *msgid, const char *msgid_plural, gulong n, ...)
{
  va_list ap;
  va_start (ap, n);
  PdMsg *m = msg_new_plural_valist (msgid, msgid_plural, n, ap);
  va_end (ap);
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
  if (m->subs != NULL)
    {
      guint n = g_strv_length (m->args);
      c->subs = g_new0 (PdMsg *, n + 1);
      for (guint i = 0; i < n; i++)
        c->subs[i] = m->subs[i] ? pd_msg_copy (m->subs[i]) : NULL;
    }
  return c;
}

void
pd_msg_free (PdMsg *m)
{
  if (m == NULL)
    return;
  g_free (m->msgid);
  g_free (m->msgid_plural);
  if (m->subs != NULL)
    for (guint i = 0; m->args != NULL && m->args[i] != NULL; i++)
      pd_msg_free (m->subs[i]);
  g_free (m->subs);
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
  char *text = fill (fmt, m->args, m->subs, TRUE);
  return text ? text : g_strdup (m->english);
}

/* ---- the sentence book ---- */

/* Two generations of BOOK_SIZE: when the newer fills up, the older goes.
 * A recipe is looked up right after the sentence was made (to attach it to
 * an event, a component or a bigger sentence), so a short memory does. */
#define BOOK_SIZE 256
/* A sentence inside a sentence inside ...: deeper recipes are not kept. */
#define MAX_DEPTH 4

static GMutex book_lock;
static GHashTable *book_new, *book_old;

static guint
msg_depth (const PdMsg *m)
{
  guint d = 0;
  for (guint i = 0; m->subs != NULL && m->args[i] != NULL; i++)
    if (m->subs[i] != NULL)
      d = MAX (d, msg_depth (m->subs[i]));
  return d + 1;
}

static PdMsg *
book_get_locked (const char *english)
{
  PdMsg *m = book_new ? g_hash_table_lookup (book_new, english) : NULL;
  if (m == NULL && book_old != NULL)
    m = g_hash_table_lookup (book_old, english);
  return m;
}

/* Each argument that is a sentence in the book brings its recipe along. */
static void
attach_subs (PdMsg *m)
{
  if (m->args == NULL || m->args[0] == NULL)
    return;
  g_mutex_lock (&book_lock);
  if (book_new != NULL)
    for (guint i = 0; m->args[i] != NULL; i++)
      {
        PdMsg *sub = book_get_locked (m->args[i]);
        if (sub == NULL || msg_depth (sub) >= MAX_DEPTH)
          continue;
        if (m->subs == NULL)
          m->subs = g_new0 (PdMsg *, g_strv_length (m->args) + 1);
        m->subs[i] = pd_msg_copy (sub);
      }
  g_mutex_unlock (&book_lock);
}

void
pd_i18n_book_add (PdMsg *m)
{
  /* A plain msgid needs no recipe: its translation is found by itself. */
  if (m->args == NULL || m->args[0] == NULL)
    {
      pd_msg_free (m);
      return;
    }
  g_mutex_lock (&book_lock);
  if (book_new == NULL)
    book_new = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) pd_msg_free);
  if (g_hash_table_size (book_new) >= BOOK_SIZE)
    {
      g_clear_pointer (&book_old, g_hash_table_unref);
      book_old = book_new;
      book_new
          = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) pd_msg_free);
    }
  g_hash_table_replace (book_new, m->english, m);
  g_mutex_unlock (&book_lock);
}

PdMsg *
pd_i18n_book_lookup (const char *english)
{
  if (english == NULL)
    return NULL;
  g_mutex_lock (&book_lock);
  PdMsg *m = book_get_locked (english);
  PdMsg *copy = m ? pd_msg_copy (m) : NULL;
  g_mutex_unlock (&book_lock);
  return copy;
}

/* Books @m (taken) and returns its English sentence. */
static char *
book_english (PdMsg *m)
{
  char *english = g_strdup (m->english);
  pd_i18n_book_add (m);
  return english;
}

char *
pd_i18n_sprintf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  PdMsg *m = pd_msg_new_valist (fmt, ap);
  va_end (ap);
  return book_english (m);
}

char *
pd_i18n_nprintf (const char *msgid, const char *msgid_plural, gulong n, ...)
{
  va_list ap;
  va_start (ap, n);
  PdMsg *m = msg_new_plural_valist (msgid, msgid_plural, n, ap);
  va_end (ap);
  return book_english (m);
}

#define JOIN_MAX 32

struct _PdI18nJoin
{
  GPtrArray *pieces; /* English */
  GString *rest;     /* beyond JOIN_MAX pieces: plain text on the last */
};

PdI18nJoin *
pd_i18n_join_new (void)
{
  PdI18nJoin *j = g_new0 (PdI18nJoin, 1);
  j->pieces = g_ptr_array_new_with_free_func (g_free);
  j->rest = g_string_new (NULL);
  return j;
}

static void
join_take (PdI18nJoin *j, char *piece)
{
  if (j->pieces->len < JOIN_MAX)
    g_ptr_array_add (j->pieces, piece);
  else
    {
      g_string_append (j->rest, piece);
      g_free (piece);
    }
}

void
pd_i18n_join_printf (PdI18nJoin *j, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  PdMsg *m = pd_msg_new_valist (fmt, ap);
  va_end (ap);
  join_take (j, g_strdup (m->english));
  pd_i18n_book_add (m);
}

void
pd_i18n_join_append (PdI18nJoin *j, const char *text)
{
  join_take (j, g_strdup (text ? text : ""));
}

gsize
pd_i18n_join_length (const PdI18nJoin *j)
{
  gsize n = j->rest->len;
  for (guint i = 0; i < j->pieces->len; i++)
    n += strlen (j->pieces->pdata[i]);
  return n;
}

char *
pd_i18n_join_finish (PdI18nJoin *j)
{
  if (j->rest->len > 0)
    g_ptr_array_add (j->pieces, g_string_free (g_steal_pointer (&j->rest), FALSE));
  else
    g_string_free (j->rest, TRUE);
  g_ptr_array_add (j->pieces, NULL);
  PdMsg *m = g_new0 (PdMsg, 1);
  m->args = (GStrv) g_ptr_array_free (j->pieces, FALSE);
  g_free (j);
  /* "%s%s…": a format without words, so no translation; each piece is
   * worded by its own recipe or as a msgid. */
  GString *fmt = g_string_new (NULL);
  for (guint i = 0; m->args[i] != NULL; i++)
    g_string_append (fmt, "%s");
  m->msgid = g_string_free (fmt, FALSE);
  m->english = g_strjoinv ("", m->args);
  attach_subs (m);
  return book_english (m);
}

/* An argument without a recipe: a msgid (N_) is translated; so is a msgid
 * that lost its final full stop to the sentence around it. */
static char *
localize_arg (const char *arg)
{
  const char *t = dgettext (GETTEXT_PACKAGE, arg);
  if (t != arg || *arg == '\0' || g_str_has_suffix (arg, "."))
    return g_strdup (t);
  g_autofree char *stop = g_strconcat (arg, ".", NULL);
  const char *ts = dgettext (GETTEXT_PACKAGE, stop);
  if (ts == stop || !g_str_has_suffix (ts, "."))
    return g_strdup (arg);
  return g_strndup (ts, strlen (ts) - 1);
}

char *
pd_i18n_localize_text (const char *english)
{
  if (english == NULL)
    return NULL;
  g_autoptr (PdMsg) m = pd_i18n_book_lookup (english);
  if (m != NULL)
    return pd_msg_localize (m);
  return localize_arg (english);
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
