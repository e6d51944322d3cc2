/* codec.c - the hostlink wire codec; the grammar is in PROTOCOL.md. */
#include "codec.h"
#include "pd-i18n.h"

#include <stdio.h>
#include <string.h>

/* The quark name is not an expression: keep clang-format away. */
// clang-format off
G_DEFINE_QUARK (pd-hostlink-codec-error-quark, pd_hl_codec_error)
// clang-format on

/* --- verbs and their argument schemas --- */

typedef enum
{
  ARG_TEXT,  /* any decoded UTF-8 text */
  ARG_UINT,  /* uint of the grammar */
  ARG_BOOL,  /* "0" or "1" */
  ARG_TOKEN, /* non-empty [a-z0-9-], e.g. codes and phases */
} ArgType;

typedef struct
{
  const char *key;
  ArgType type;
  gboolean required;
} ArgSpec;

#define REQ TRUE
#define OPT FALSE

static const ArgSpec hello_args[] = {
  { "proto", ARG_UINT, REQ },
  { "proto-min", ARG_UINT, REQ },
  { "host", ARG_TEXT, REQ },
  { "vmid", ARG_UINT, REQ },
  { "enabled", ARG_BOOL, REQ },
  { "cool-off-min", ARG_UINT, REQ },
  { "cool-off-max", ARG_UINT, REQ },
  { "cool-off-default", ARG_UINT, REQ },
  { "rate-max", ARG_UINT, REQ },
  { "rate-window", ARG_UINT, REQ },
  { "day-max", ARG_UINT, REQ },
  { "rate-left", ARG_UINT, REQ },
  { "next-allowed-in", ARG_UINT, REQ },
  { "last", ARG_TOKEN, OPT },
  { "last-time", ARG_UINT, OPT },
  { "last-duration", ARG_UINT, OPT },
  { "last-text", ARG_TEXT, OPT },
  { NULL },
};

static const ArgSpec ready_args[] = {
  { "proto", ARG_UINT, REQ },
  { "agent", ARG_TEXT, OPT },
  { NULL },
};

static const ArgSpec restart_args[] = {
  { "reason", ARG_TEXT, OPT },
  { "cool-off", ARG_UINT, OPT },
  { NULL },
};

static const ArgSpec accept_args[] = {
  { "cool-off", ARG_UINT, REQ },
  { "shutdown-timeout", ARG_UINT, REQ },
  { "text", ARG_TEXT, REQ },
  { NULL },
};

static const ArgSpec refuse_args[] = {
  { "code", ARG_TOKEN, REQ },
  { "text", ARG_TEXT, REQ },
  { "retry-in", ARG_UINT, OPT },
  { NULL },
};

static const ArgSpec progress_args[] = {
  { "phase", ARG_TOKEN, REQ },
  { "text", ARG_TEXT, REQ },
  { NULL },
};

static const ArgSpec cancel_args[] = {
  { "request", ARG_UINT, REQ },
  { NULL },
};

static const ArgSpec no_args[] = {
  { NULL },
};

static const ArgSpec status_reply_args[] = {
  { "vm-state", ARG_TOKEN, REQ },       { "cycle", ARG_TOKEN, REQ },
  { "enabled", ARG_BOOL, REQ },         { "cool-off-min", ARG_UINT, REQ },
  { "cool-off-max", ARG_UINT, REQ },    { "cool-off-default", ARG_UINT, REQ },
  { "rate-max", ARG_UINT, REQ },        { "rate-window", ARG_UINT, REQ },
  { "day-max", ARG_UINT, REQ },         { "rate-left", ARG_UINT, REQ },
  { "next-allowed-in", ARG_UINT, REQ }, { "last", ARG_TOKEN, OPT },
  { "last-time", ARG_UINT, OPT },       { "last-duration", ARG_UINT, OPT },
  { "last-text", ARG_TEXT, OPT },       { NULL },
};

/* Protocol 2: the host doctor's summary for this VM (PROTOCOL.md). */
static const ArgSpec host_report_args[] = {
  { "state", ARG_TOKEN, REQ },
  { "time", ARG_UINT, REQ },
  { "ok", ARG_UINT, REQ },
  { "warn", ARG_UINT, REQ },
  { "fail", ARG_UINT, REQ },
  { "items", ARG_UINT, REQ },
  { NULL },
};

static const ArgSpec host_item_args[] = {
  { "n", ARG_UINT, REQ },
  { "check", ARG_TOKEN, REQ },
  { "vmid", ARG_UINT, REQ },
  { "state", ARG_TOKEN, REQ },
  { "text", ARG_TEXT, REQ },
  { "fix", ARG_TEXT, OPT },
  { NULL },
};

static const ArgSpec error_args[] = {
  { "code", ARG_TOKEN, REQ },
  { "text", ARG_TEXT, OPT },
  { NULL },
};

enum
{
  BY_HOST = 1 << 0,
  BY_GUEST = 1 << 1,
};

static const struct
{
  const char *name;
  const ArgSpec *args;
  guint senders;
  gboolean zero_id_ok;
} verbs[PD_HL_N_VERBS] = {
  [PD_HL_VERB_HELLO] = { "HELLO", hello_args, BY_HOST, FALSE },
  [PD_HL_VERB_READY] = { "READY", ready_args, BY_GUEST, FALSE },
  [PD_HL_VERB_RESTART] = { "RESTART", restart_args, BY_GUEST, FALSE },
  [PD_HL_VERB_ACCEPT] = { "ACCEPT", accept_args, BY_HOST, FALSE },
  [PD_HL_VERB_REFUSE] = { "REFUSE", refuse_args, BY_HOST, FALSE },
  [PD_HL_VERB_PROGRESS] = { "PROGRESS", progress_args, BY_HOST, FALSE },
  [PD_HL_VERB_CANCEL] = { "CANCEL", cancel_args, BY_GUEST, FALSE },
  [PD_HL_VERB_OK] = { "OK", no_args, BY_HOST, FALSE },
  [PD_HL_VERB_STATUS] = { "STATUS", no_args, BY_GUEST, FALSE },
  [PD_HL_VERB_STATUS_REPLY] = { "STATUS-REPLY", status_reply_args, BY_HOST, FALSE },
  [PD_HL_VERB_PING] = { "PING", no_args, BY_HOST | BY_GUEST, FALSE },
  [PD_HL_VERB_PONG] = { "PONG", no_args, BY_HOST | BY_GUEST, FALSE },
  [PD_HL_VERB_ERROR] = { "ERROR", error_args, BY_HOST | BY_GUEST, TRUE },
  [PD_HL_VERB_RESYNC] = { "RESYNC", no_args, BY_GUEST, FALSE },
  [PD_HL_VERB_HOST_REPORT] = { "HOST-REPORT", host_report_args, BY_HOST, FALSE },
  [PD_HL_VERB_HOST_ITEM] = { "HOST-ITEM", host_item_args, BY_HOST, FALSE },
};

const char *
pd_hl_verb_to_string (PdHlVerb verb)
{
  g_return_val_if_fail (verb < PD_HL_N_VERBS, "?");
  return verbs[verb].name;
}

gboolean
pd_hl_verb_from_string (const char *str, gsize len, PdHlVerb *out)
{
  for (guint i = 0; i < PD_HL_N_VERBS; i++)
    if (strlen (verbs[i].name) == len && memcmp (verbs[i].name, str, len) == 0)
      {
        *out = (PdHlVerb) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
pd_hl_verb_sent_by_host (PdHlVerb verb)
{
  return verb < PD_HL_N_VERBS && (verbs[verb].senders & BY_HOST);
}

gboolean
pd_hl_verb_sent_by_guest (PdHlVerb verb)
{
  return verb < PD_HL_N_VERBS && (verbs[verb].senders & BY_GUEST);
}

const char *
pd_hl_codec_error_wire_code (PdHlCodecError code)
{
  switch (code)
    {
    case PD_HL_CODEC_ERROR_EMPTY:
      return NULL;
    case PD_HL_CODEC_ERROR_TOO_LONG:
      return PD_HL_ERR_LINE_TOO_LONG;
    case PD_HL_CODEC_ERROR_UNKNOWN_VERB:
      return PD_HL_ERR_UNKNOWN_VERB;
    case PD_HL_CODEC_ERROR_BAD_ARGS:
      return PD_HL_ERR_BAD_ARGS;
    case PD_HL_CODEC_ERROR_SYNTAX:
    case PD_HL_CODEC_ERROR_INVALID:
    default:
      return PD_HL_ERR_BAD_SYNTAX;
    }
}

/* --- character classes --- */

static gboolean
is_vchar (guchar c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '/'
         || c == ',' || c == '+' || c == '@';
}

static gboolean
is_verb_char (guchar c)
{
  return (c >= 'A' && c <= 'Z') || c == '-';
}

static gboolean
is_key_char (guchar c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static int
hexup_value (guchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
key_is_valid (const char *key, gsize len)
{
  if (len == 0 || len > PD_HL_MAX_KEY || key[0] < 'a' || key[0] > 'z')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!is_key_char ((guchar) key[i]))
      return FALSE;
  return TRUE;
}

/* Decoded text: valid UTF-8 (NUL-free by construction of the length check)
 * without C0 controls or DEL. */
static gboolean
text_is_valid (const char *s, gsize len)
{
  if (!g_utf8_validate_len (s, len, NULL))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) s[i];
      if (c < 0x20 || c == 0x7f)
        return FALSE;
    }
  return TRUE;
}

/* uint of the grammar: "0" or no leading zero, at most 4294967295. */
static gboolean
parse_uint (const char *s, gsize len, guint32 *out)
{
  if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
    return FALSE;
  guint64 v = 0;
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return FALSE;
      v = v * 10 + (guint64) (s[i] - '0');
    }
  if (v > G_MAXUINT32)
    return FALSE;
  if (out)
    *out = (guint32) v;
  return TRUE;
}

static gboolean
value_has_type (const char *v, ArgType type)
{
  switch (type)
    {
    case ARG_TEXT:
      return TRUE; /* checked at decode time for every value */
    case ARG_UINT:
      return parse_uint (v, strlen (v), NULL);
    case ARG_BOOL:
      return strcmp (v, "0") == 0 || strcmp (v, "1") == 0;
    case ARG_TOKEN:
      if (*v == '\0')
        return FALSE;
      for (const char *p = v; *p; p++)
        if (!is_key_char ((guchar) *p))
          return FALSE;
      return TRUE;
    default:
      return FALSE;
    }
}

/* --- messages --- */

static void
arg_free (gpointer p)
{
  PdHlArg *a = p;
  g_free (a->key);
  g_free (a->value);
  g_free (a);
}

PdHlMessage *
pd_hl_message_new (PdHlVerb verb, guint32 id)
{
  PdHlMessage *msg = g_new0 (PdHlMessage, 1);
  msg->verb = verb;
  msg->id = id;
  msg->args = g_ptr_array_new_with_free_func (arg_free);
  return msg;
}

void
pd_hl_message_free (PdHlMessage *msg)
{
  if (!msg)
    return;
  g_ptr_array_unref (msg->args);
  g_free (msg);
}

static PdHlArg *
find_arg (const PdHlMessage *msg, const char *key)
{
  for (guint i = 0; i < msg->args->len; i++)
    {
      PdHlArg *a = g_ptr_array_index (msg->args, i);
      if (strcmp (a->key, key) == 0)
        return a;
    }
  return NULL;
}

void
pd_hl_message_set (PdHlMessage *msg, const char *key, const char *value)
{
  g_return_if_fail (msg && key && value);
  PdHlArg *a = find_arg (msg, key);
  if (a)
    {
      g_free (a->value);
      a->value = g_strdup (value);
      return;
    }
  a = g_new0 (PdHlArg, 1);
  a->key = g_strdup (key);
  a->value = g_strdup (value);
  g_ptr_array_add (msg->args, a);
}

void
pd_hl_message_set_uint (PdHlMessage *msg, const char *key, guint32 value)
{
  char buf[16];
  g_snprintf (buf, sizeof buf, "%" G_GUINT32_FORMAT, value);
  pd_hl_message_set (msg, key, buf);
}

void
pd_hl_message_set_printf (PdHlMessage *msg, const char *key, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *v = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  pd_hl_message_set (msg, key, v);
}

const char *
pd_hl_message_get (const PdHlMessage *msg, const char *key)
{
  g_return_val_if_fail (msg && key, NULL);
  PdHlArg *a = find_arg (msg, key);
  return a ? a->value : NULL;
}

gboolean
pd_hl_message_get_uint (const PdHlMessage *msg, const char *key, guint32 *out)
{
  const char *v = pd_hl_message_get (msg, key);
  return v && parse_uint (v, strlen (v), out);
}

gboolean
pd_hl_message_get_bool (const PdHlMessage *msg, const char *key, gboolean *out)
{
  const char *v = pd_hl_message_get (msg, key);
  if (!v || !value_has_type (v, ARG_BOOL))
    return FALSE;
  if (out)
    *out = v[0] == '1';
  return TRUE;
}

/* Checks the verb's schema on a message whose keys and values already
 * passed the grammar. */
static gboolean
check_schema (const PdHlMessage *msg, GError **error, int code)
{
  const ArgSpec *spec = verbs[msg->verb].args;
  for (const ArgSpec *s = spec; s->key; s++)
    {
      const char *v = pd_hl_message_get (msg, s->key);
      if (!v)
        {
          if (s->required)
            {
              g_set_error (error, PD_HL_CODEC_ERROR, code, _ ("%s needs the argument “%s”."),
                           verbs[msg->verb].name, s->key);
              return FALSE;
            }
          continue;
        }
      if (!value_has_type (v, s->type))
        {
          g_set_error (error, PD_HL_CODEC_ERROR, code, _ ("%s: the value of “%s” is not a %s."),
                       verbs[msg->verb].name, s->key,
                       s->type == ARG_UINT   ? "number"
                       : s->type == ARG_BOOL ? "0 or 1"
                                             : "code word");
          return FALSE;
        }
    }
  if (msg->verb == PD_HL_VERB_RESTART)
    {
      const char *reason = pd_hl_message_get (msg, "reason");
      if (reason && strlen (reason) > PD_HL_MAX_REASON)
        {
          g_set_error (error, PD_HL_CODEC_ERROR, code,
                       _ ("RESTART: the reason is longer than %d bytes."), PD_HL_MAX_REASON);
          return FALSE;
        }
    }
  if (msg->verb == PD_HL_VERB_HOST_REPORT)
    {
      guint32 items = 0;
      if (pd_hl_message_get_uint (msg, "items", &items) && items > PD_HL_MAX_REPORT_ITEMS)
        {
          g_set_error (error, PD_HL_CODEC_ERROR, code, _ ("HOST-REPORT: more than %d items."),
                       PD_HL_MAX_REPORT_ITEMS);
          return FALSE;
        }
    }
  if (msg->verb == PD_HL_VERB_HOST_ITEM)
    {
      guint32 n = 0;
      const char *text = pd_hl_message_get (msg, "text");
      const char *fix = pd_hl_message_get (msg, "fix");
      if ((pd_hl_message_get_uint (msg, "n", &n) && n >= PD_HL_MAX_REPORT_ITEMS)
          || (text && strlen (text) > PD_HL_MAX_REPORT_TEXT)
          || (fix && strlen (fix) > PD_HL_MAX_REPORT_TEXT))
        {
          g_set_error (error, PD_HL_CODEC_ERROR, code,
                       _ ("HOST-ITEM: n is %d or more, or text or fix is longer than %d bytes."),
                       PD_HL_MAX_REPORT_ITEMS, PD_HL_MAX_REPORT_TEXT);
          return FALSE;
        }
    }
  if (msg->id == 0 && !verbs[msg->verb].zero_id_ok)
    {
      g_set_error (error, PD_HL_CODEC_ERROR, code, _ ("%s needs a non-zero id."),
                   verbs[msg->verb].name);
      return FALSE;
    }
  return TRUE;
}

/* --- decoding --- */

/* Percent-decodes a value of the grammar; NULL if it breaks it. *@out_len
 * counts the decoded octets (a %00 makes it differ from strlen). */
static char *
unescape_value (const char *s, gsize len, gsize *out_len)
{
  g_autoptr (GString) out = g_string_sized_new (len);
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) s[i];
      if (c == '%')
        {
          if (i + 2 >= len)
            return NULL;
          int hi = hexup_value ((guchar) s[i + 1]);
          int lo = hexup_value ((guchar) s[i + 2]);
          if (hi < 0 || lo < 0)
            return NULL;
          g_string_append_c (out, (char) (hi << 4 | lo));
          i += 2;
        }
      else if (is_vchar (c))
        g_string_append_c (out, (char) c);
      else
        return NULL;
    }
  *out_len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
pd_hl_unescape_value (const char *value)
{
  gsize n = 0;
  g_autofree char *v = unescape_value (value, strlen (value), &n);
  if (v == NULL || !text_is_valid (v, n))
    return NULL;
  return g_steal_pointer (&v);
}

PdHlMessage *
pd_hl_decode (const char *line, gsize len, guint32 *bad_id, GError **error)
{
  if (bad_id)
    *bad_id = 0;
  if (len == 0)
    {
      g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_EMPTY, _ ("Empty line."));
      return NULL;
    }
  if (len >= PD_HL_MAX_LINE)
    {
      g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_TOO_LONG,
                   _ ("The line is longer than %d bytes."), PD_HL_MAX_LINE);
      return NULL;
    }

  /* verb */
  gsize p = 0;
  while (p < len && line[p] != ' ')
    p++;
  gsize verb_len = p;
  if (verb_len == 0 || verb_len > 16)
    {
      g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX,
                           _ ("The line does not start with a verb."));
      return NULL;
    }
  for (gsize i = 0; i < verb_len; i++)
    if (!is_verb_char ((guchar) line[i]))
      {
        g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX,
                             _ ("The verb holds characters other than A-Z and “-”."));
        return NULL;
      }
  if (p == len)
    {
      g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX,
                           _ ("The line has no id after the verb."));
      return NULL;
    }
  p++; /* the SP */

  /* id */
  gsize id_start = p;
  while (p < len && line[p] != ' ')
    p++;
  guint32 id = 0;
  if (!parse_uint (line + id_start, p - id_start, &id))
    {
      g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX,
                           _ ("The id is not a number from 0 to 4294967295."));
      return NULL;
    }
  if (bad_id)
    *bad_id = id;

  PdHlVerb verb;
  gboolean known = pd_hl_verb_from_string (line, verb_len, &verb);

  g_autoptr (PdHlMessage) msg = pd_hl_message_new (known ? verb : PD_HL_VERB_ERROR, id);
  while (p < len)
    {
      p++; /* the SP before this arg */
      gsize arg_start = p;
      while (p < len && line[p] != ' ')
        p++;
      gsize arg_len = p - arg_start;
      const char *arg = line + arg_start;
      const char *eq = arg_len ? memchr (arg, '=', arg_len) : NULL;
      if (!eq)
        {
          g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX,
                               arg_len ? "An argument is not key=value."
                                       : "Two spaces in a row or a trailing space.");
          return NULL;
        }
      gsize key_len = (gsize) (eq - arg);
      if (!key_is_valid (arg, key_len))
        {
          g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX,
                               _ ("An argument's key is not of the form [a-z][a-z0-9-]*."));
          return NULL;
        }
      gsize value_len = 0;
      g_autofree char *value = unescape_value (eq + 1, arg_len - key_len - 1, &value_len);
      if (!value)
        {
          g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX,
                               _ ("An argument's value holds a character that must be "
                                  "percent-encoded, or a bad %XX escape."));
          return NULL;
        }
      /* text_is_valid rejects NUL, so a %00 fails here too. */
      if (!text_is_valid (value, value_len))
        {
          g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_BAD_ARGS,
                               _ ("An argument's value is not UTF-8 text without control "
                                  "characters."));
          return NULL;
        }
      if (msg->args->len >= PD_HL_MAX_ARGS)
        {
          g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_BAD_ARGS,
                       _ ("More than %d arguments."), PD_HL_MAX_ARGS);
          return NULL;
        }
      g_autofree char *key = g_strndup (arg, key_len);
      if (find_arg (msg, key))
        {
          g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_BAD_ARGS,
                       _ ("The argument “%s” appears twice."), key);
          return NULL;
        }
      PdHlArg *a = g_new0 (PdHlArg, 1);
      a->key = g_steal_pointer (&key);
      a->value = g_steal_pointer (&value);
      g_ptr_array_add (msg->args, a);
    }

  if (!known)
    {
      g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_UNKNOWN_VERB,
                   _ ("Unknown verb “%.*s”."), (int) verb_len, line);
      return NULL;
    }
  if (!check_schema (msg, error, PD_HL_CODEC_ERROR_BAD_ARGS))
    return NULL;
  return g_steal_pointer (&msg);
}

/* --- encoding --- */

char *
pd_hl_escape_value (const char *value)
{
  static const char hex[] = "0123456789ABCDEF";
  GString *out = g_string_sized_new (strlen (value));
  for (const guchar *p = (const guchar *) value; *p; p++)
    if (is_vchar (*p))
      g_string_append_c (out, (char) *p);
    else
      {
        g_string_append_c (out, '%');
        g_string_append_c (out, hex[*p >> 4]);
        g_string_append_c (out, hex[*p & 0xf]);
      }
  return g_string_free (out, FALSE);
}

char *
pd_hl_encode (const PdHlMessage *msg, gsize *out_len, GError **error)
{
  g_return_val_if_fail (msg != NULL, NULL);
  if (msg->verb >= PD_HL_N_VERBS)
    {
      g_set_error_literal (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID,
                           _ ("Unknown verb."));
      return NULL;
    }
  if (msg->args->len > PD_HL_MAX_ARGS)
    {
      g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID,
                   _ ("More than %d arguments."), PD_HL_MAX_ARGS);
      return NULL;
    }
  g_autoptr (GString) out = g_string_new (verbs[msg->verb].name);
  g_string_append_printf (out, " %" G_GUINT32_FORMAT, msg->id);
  for (guint i = 0; i < msg->args->len; i++)
    {
      PdHlArg *a = g_ptr_array_index (msg->args, i);
      if (!key_is_valid (a->key, strlen (a->key)))
        {
          g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID,
                       _ ("“%s” is not a valid key."), a->key);
          return NULL;
        }
      if (!text_is_valid (a->value, strlen (a->value)))
        {
          g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID,
                       _ ("The value of “%s” is not UTF-8 text without control characters."),
                       a->key);
          return NULL;
        }
      g_autofree char *v = pd_hl_escape_value (a->value);
      g_string_append_printf (out, " %s=%s", a->key, v);
    }
  if (!check_schema (msg, error, PD_HL_CODEC_ERROR_INVALID))
    return NULL;
  g_string_append_c (out, '\n');
  if (out->len > PD_HL_MAX_LINE)
    {
      g_set_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID,
                   _ ("The %s line would be %zu bytes, more than the limit of %d."),
                   verbs[msg->verb].name, out->len, PD_HL_MAX_LINE);
      return NULL;
    }
  if (out_len)
    *out_len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* --- line assembler --- */

struct _PdHlLineBuf
{
  char data[PD_HL_MAX_LINE]; /* the partial line, without LF */
  gsize len;
  gboolean discarding; /* dropping input up to the next LF */
  gboolean ready;      /* data holds a line handed out last time */
};

PdHlLineBuf *
pd_hl_line_buf_new (void)
{
  return g_new0 (PdHlLineBuf, 1);
}

void
pd_hl_line_buf_free (PdHlLineBuf *buf)
{
  g_free (buf);
}

void
pd_hl_line_buf_reset (PdHlLineBuf *buf, gboolean discard_first)
{
  buf->len = 0;
  buf->ready = FALSE;
  buf->discarding = discard_first;
}

gboolean
pd_hl_line_buf_has_partial (const PdHlLineBuf *buf)
{
  return (!buf->ready && buf->len > 0) || buf->discarding;
}

PdHlLineStatus
pd_hl_line_buf_push (PdHlLineBuf *buf, const char *data, gsize len, gsize *consumed,
                     const char **line, gsize *line_len)
{
  if (buf->ready)
    {
      buf->ready = FALSE;
      buf->len = 0;
    }
  *consumed = 0;
  if (len == 0)
    return PD_HL_LINE_NEED_MORE;

  gsize skipped = 0;
  if (buf->discarding)
    {
      const char *end = memchr (data, '\n', len);
      if (!end)
        {
          *consumed = len;
          return PD_HL_LINE_NEED_MORE;
        }
      buf->discarding = FALSE;
      skipped = (gsize) (end - data) + 1;
      data += skipped;
      len -= skipped;
      *consumed = skipped;
      if (len == 0)
        return PD_HL_LINE_NEED_MORE;
    }

  const char *lf = memchr (data, '\n', len);
  gsize upto = lf ? (gsize) (lf - data) : len; /* bytes before the LF */

  /* A line is at most PD_HL_MAX_LINE - 1 bytes plus its LF. */
  if (buf->len + upto > PD_HL_MAX_LINE - 1)
    {
      /* Take what overflows: up to and including the LF if there is one, else
       * all; the rest of the line (if any) is dropped later. */
      buf->len = 0;
      if (lf)
        *consumed = skipped + upto + 1;
      else
        {
          *consumed = skipped + len;
          buf->discarding = TRUE;
        }
      return PD_HL_LINE_TOO_LONG;
    }

  memcpy (buf->data + buf->len, data, upto);
  buf->len += upto;
  if (!lf)
    {
      *consumed = skipped + len;
      return PD_HL_LINE_NEED_MORE;
    }
  *consumed = skipped + upto + 1;
  buf->ready = TRUE;
  *line = buf->data;
  *line_len = buf->len;
  return PD_HL_LINE_READY;
}
