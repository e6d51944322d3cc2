/* hl-text.c - see hl-text.h. */
#include "hl-text.h"

#include <stdlib.h>
#include <string.h>

static char *
spans_key (const char *key)
{
  return g_strconcat (key, "-spans", NULL);
}

/* The conversion at @p (just after a '%'): its length in octets, its
 * conversion character in *@conv; 0 when it is not one we send (positional,
 * '*', another conversion, longer than PD_HL_MAX_SPEC). */
static gsize
spec_length (const char *p, char *conv)
{
  const char *s = p;
  while (*s && strchr ("-+ #0", *s))
    s++;
  while (g_ascii_isdigit (*s))
    s++;
  if (*s == '$')
    return 0;
  if (*s == '.')
    {
      s++;
      while (g_ascii_isdigit (*s))
        s++;
    }
  while (*s && strchr ("hlzjt", *s))
    s++;
  if (*s == '\0' || !strchr ("sdiuxX", *s))
    return 0;
  *conv = *s;
  gsize n = (gsize) (s + 1 - p);
  return n <= PD_HL_MAX_SPEC ? n : 0;
}

/* An argument as conversion @conv prints it (width may pad with spaces). */
static gboolean
arg_fits (char conv, const char *arg)
{
  const char *p = arg;
  while (*p == ' ')
    p++;
  if (conv == 's')
    return TRUE;
  if ((conv == 'd' || conv == 'i') && *p == '-')
    p++;
  if (*p == '\0')
    return FALSE;
  for (; *p; p++)
    if (conv == 'x' || conv == 'X' ? !g_ascii_isxdigit (*p) : !g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

void
pd_hl_text_set (PdHlMessage *msg, const char *key, const char *english, const PdMsg *m)
{
  pd_hl_message_set (msg, key, english);
  g_autoptr (PdMsg) found = m ? NULL : pd_i18n_book_lookup (english);
  if (m == NULL)
    m = found;
  if (m == NULL || m->args == NULL || m->args[0] == NULL || m->msgid_plural != NULL)
    return;
  /* Walk the msgid along the text: literals must match, each conversion
   * stands where its argument does. */
  g_autoptr (GString) spans = g_string_new (NULL);
  const char *t = english;
  guint n = 0;
  for (const char *p = m->msgid; *p; p++)
    {
      if (*p != '%')
        {
          if (*t++ != *p)
            return;
          continue;
        }
      if (p[1] == '%')
        {
          if (*t++ != '%')
            return;
          p++;
          continue;
        }
      char conv;
      gsize len = spec_length (p + 1, &conv);
      const char *arg = m->args[n];
      if (len == 0 || arg == NULL || n >= PD_HL_MAX_TEXT_ARGS || !arg_fits (conv, arg)
          || strncmp (t, arg, strlen (arg)) != 0)
        return;
      g_string_append_printf (spans, "%s%" G_GSIZE_FORMAT "+%" G_GSIZE_FORMAT ":%.*s", n ? "," : "",
                              (gsize) (t - english), strlen (arg), (int) len, p + 1);
      t += strlen (arg);
      p += len;
      n++;
    }
  if (*t != '\0' || m->args[n] != NULL)
    return;
  g_autofree char *k = spans_key (key);
  pd_hl_message_set (msg, k, spans->str);
}

gboolean
pd_hl_text_drop_recipe (PdHlMessage *msg, const char *key)
{
  g_autofree char *k = spans_key (key);
  for (guint i = msg->args->len; i-- > 0;)
    {
      PdHlArg *a = msg->args->pdata[i];
      if (strcmp (a->key, k) == 0)
        {
          g_ptr_array_remove_index (msg->args, i);
          return TRUE;
        }
    }
  return FALSE;
}

/* Appends @len octets of literal text, '%' doubled. */
static void
append_literal (GString *fmt, const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '%')
        g_string_append_c (fmt, '%');
      g_string_append_c (fmt, s[i]);
    }
}

/* A decimal of at most 5 digits (texts are far shorter than 99999). */
static gboolean
parse_small (const char **p, gsize *out)
{
  const char *s = *p;
  gsize v = 0, digits = 0;
  while (g_ascii_isdigit (*s) && digits < 5)
    v = v * 10 + (gsize) (*s++ - '0'), digits++;
  if (digits == 0 || g_ascii_isdigit (*s))
    return FALSE;
  *p = s;
  *out = v;
  return TRUE;
}

PdMsg *
pd_hl_text_get_recipe (const PdHlMessage *msg, const char *key)
{
  const char *text = pd_hl_message_get (msg, key);
  g_autofree char *k = spans_key (key);
  const char *spans = pd_hl_message_get (msg, k);
  if (text == NULL || spans == NULL || *spans == '\0')
    return NULL;
  gsize text_len = strlen (text);
  g_autoptr (GString) fmt = g_string_new (NULL);
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  gsize at = 0; /* end of the previous span */
  for (const char *p = spans; *p;)
    {
      gsize start, len;
      if (args->len >= PD_HL_MAX_TEXT_ARGS || !parse_small (&p, &start) || *p++ != '+'
          || !parse_small (&p, &len) || *p++ != ':')
        return NULL;
      char conv;
      gsize spec_len = spec_length (p, &conv);
      if (spec_len == 0 || start < at || start > text_len || len > text_len - start)
        return NULL;
      /* Both the literal before the span and the argument are whole text. */
      if (!g_utf8_validate_len (text + at, start - at, NULL)
          || !g_utf8_validate_len (text + start, len, NULL))
        return NULL;
      char *arg = g_strndup (text + start, len);
      g_ptr_array_add (args, arg);
      if (!arg_fits (conv, arg))
        return NULL;
      append_literal (fmt, text + at, start - at);
      g_string_append_c (fmt, '%');
      g_string_append_len (fmt, p, (gssize) spec_len);
      p += spec_len;
      at = start + len;
      if (*p == ',' && p[1] != '\0')
        p++;
      else if (*p != '\0')
        return NULL;
    }
  if (!g_utf8_validate_len (text + at, text_len - at, NULL))
    return NULL;
  append_literal (fmt, text + at, text_len - at);
  g_ptr_array_add (args, NULL);
  PdMsg *m = pd_msg_new_from_strings (fmt->str, (const char *const *) args->pdata);
  if (m == NULL || strcmp (m->english, text) != 0)
    {
      pd_msg_free (m);
      return NULL;
    }
  return m;
}

const char *
pd_hl_text_book (const PdHlMessage *msg, const char *key)
{
  PdMsg *m = pd_hl_text_get_recipe (msg, key);
  if (m != NULL)
    pd_i18n_book_add (m);
  return pd_hl_message_get (msg, key);
}
