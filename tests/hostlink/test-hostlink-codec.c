/* test-hostlink-codec.c - the hostlink wire codec: grammar, schemas, the
 * bounded line assembler and round trips. */
#include <string.h>

#include "codec.h"
#include "hl-text.h"

static PdHlMessage *
decode_str (const char *line, GError **error)
{
  return pd_hl_decode (line, strlen (line), NULL, error);
}

static void
test_decode_hello (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHlMessage) m = decode_str (
      "HELLO 1 proto=1 proto-min=1 host=pve1 vmid=101 enabled=1 cool-off-min=5 "
      "cool-off-max=120 cool-off-default=10 rate-max=1 rate-window=300 day-max=6 rate-left=1 "
      "next-allowed-in=0 last=ok last-time=1795999999 last-duration=52 "
      "last-text=Started%20again%20in%2052%20s.",
      &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpint (m->verb, ==, PD_HL_VERB_HELLO);
  g_assert_cmpuint (m->id, ==, 1);
  g_assert_cmpstr (pd_hl_message_get (m, "host"), ==, "pve1");
  g_assert_cmpstr (pd_hl_message_get (m, "last-text"), ==, "Started again in 52 s.");
  guint32 v = 0;
  g_assert_true (pd_hl_message_get_uint (m, "vmid", &v));
  g_assert_cmpuint (v, ==, 101);
  gboolean b = FALSE;
  g_assert_true (pd_hl_message_get_bool (m, "enabled", &b));
  g_assert_true (b);
  g_assert_false (pd_hl_message_get_uint (m, "host", &v));
  g_assert_null (pd_hl_message_get (m, "nope"));
}

static void
test_decode_unknown_keys_ignored (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHlMessage) m = decode_str ("PING 42 future-thing=x", &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->verb, ==, PD_HL_VERB_PING);
  g_assert_cmpstr (pd_hl_message_get (m, "future-thing"), ==, "x");
}

typedef struct
{
  const char *line;
  int code;
  guint32 bad_id;
} BadCase;

static void
test_decode_errors (void)
{
  static const BadCase cases[] = {
    { "", PD_HL_CODEC_ERROR_EMPTY, 0 },
    { "PING", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { "PING ", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { "ping 1", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { " PING 1", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { "PING 01", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { "PING -1", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { "PING 4294967296", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { "PING 1 ", PD_HL_CODEC_ERROR_SYNTAX, 1 },
    { "PING 1  a=b", PD_HL_CODEC_ERROR_SYNTAX, 1 },
    { "PING 1\r", PD_HL_CODEC_ERROR_SYNTAX, 0 },
    { "PING 2 a", PD_HL_CODEC_ERROR_SYNTAX, 2 },
    { "PING 2 =b", PD_HL_CODEC_ERROR_SYNTAX, 2 },
    { "PING 2 A=b", PD_HL_CODEC_ERROR_SYNTAX, 2 },
    { "PING 2 1a=b", PD_HL_CODEC_ERROR_SYNTAX, 2 },
    { "PING 2 a=b c", PD_HL_CODEC_ERROR_SYNTAX, 2 },
    { "PING 3 a=b=c", PD_HL_CODEC_ERROR_SYNTAX, 3 },
    { "PING 3 a=x%2", PD_HL_CODEC_ERROR_SYNTAX, 3 },
    { "PING 3 a=x%2f", PD_HL_CODEC_ERROR_SYNTAX, 3 },
    { "PING 3 a=x%G0", PD_HL_CODEC_ERROR_SYNTAX, 3 },
    { "PING 3 a=\xc3\xa9", PD_HL_CODEC_ERROR_SYNTAX, 3 },
    { "PING 4 a=%00", PD_HL_CODEC_ERROR_BAD_ARGS, 4 },
    { "PING 4 a=%0A", PD_HL_CODEC_ERROR_BAD_ARGS, 4 },
    { "PING 4 a=%7F", PD_HL_CODEC_ERROR_BAD_ARGS, 4 },
    { "PING 4 a=%C3", PD_HL_CODEC_ERROR_BAD_ARGS, 4 },
    { "PING 5 a=1 a=2", PD_HL_CODEC_ERROR_BAD_ARGS, 5 },
    { "PING 0", PD_HL_CODEC_ERROR_BAD_ARGS, 0 },
    { "FROB 6", PD_HL_CODEC_ERROR_UNKNOWN_VERB, 6 },
    { "CANCEL 7", PD_HL_CODEC_ERROR_BAD_ARGS, 7 },
    { "CANCEL 7 request=x", PD_HL_CODEC_ERROR_BAD_ARGS, 7 },
    { "REFUSE 8 code=Busy text=x", PD_HL_CODEC_ERROR_BAD_ARGS, 8 },
    { "HELLO 9 proto=1", PD_HL_CODEC_ERROR_BAD_ARGS, 9 },
    { "PING 10 a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1 l=1 m=1 n=1 o=1 p=1 q=1 r=1 s=1 t=1 u=1 "
      "v=1 w=1 x=1 y=1",
      PD_HL_CODEC_ERROR_BAD_ARGS, 10 },
    { "PING 11 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", PD_HL_CODEC_ERROR_SYNTAX, 11 },
    { "PINGPINGPINGPINGP 1", PD_HL_CODEC_ERROR_SYNTAX, 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      guint32 bad_id = 99;
      g_autoptr (PdHlMessage) m
          = pd_hl_decode (cases[i].line, strlen (cases[i].line), &bad_id, &error);
      if (m || !g_error_matches (error, PD_HL_CODEC_ERROR, cases[i].code))
        g_error ("line “%s”: expected error %d, got %s", cases[i].line, cases[i].code,
                 error ? error->message : "a message");
      g_assert_cmpuint (bad_id, ==, cases[i].bad_id);
      g_assert_nonnull (error->message);
    }
}

static void
test_decode_embedded_nul (void)
{
  const char line[] = "PING 1 a=b\0c";
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHlMessage) m = pd_hl_decode (line, sizeof line - 1, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_SYNTAX);
}

static void
test_decode_too_long (void)
{
  g_autoptr (GString) s = g_string_new ("PING 1 a=");
  while (s->len < PD_HL_MAX_LINE)
    g_string_append_c (s, 'x');
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHlMessage) m = pd_hl_decode (s->str, s->len, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_TOO_LONG);
  g_assert_cmpstr (pd_hl_codec_error_wire_code (PD_HL_CODEC_ERROR_TOO_LONG), ==,
                   PD_HL_ERR_LINE_TOO_LONG);
  /* 1023 bytes is the longest line (1024 with its LF). */
  g_string_truncate (s, PD_HL_MAX_LINE - 1);
  g_clear_error (&error);
  g_autoptr (PdHlMessage) ok = pd_hl_decode (s->str, s->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ok);
}

static void
test_encode_roundtrip (void)
{
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_REFUSE, 77);
  pd_hl_message_set (m, "code", PD_HL_REFUSE_RATE_LIMITED);
  pd_hl_message_set (m, "text", "Only 1 cold restart per 5 min: 100% sure, wait «4 min» = 240 s.");
  pd_hl_message_set_uint (m, "retry-in", 240);
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  g_autofree char *line = pd_hl_encode (m, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, strlen (line));
  g_assert_true (g_str_has_prefix (line, "REFUSE 77 code=rate-limited text=Only%201%20cold"));
  g_assert_true (g_str_has_suffix (line, " retry-in=240\n"));
  for (const char *p = line; *p; p++)
    g_assert_true ((*p >= 0x20 && *p < 0x7f) || (*p == '\n' && p[1] == '\0'));

  g_autoptr (PdHlMessage) back = pd_hl_decode (line, len - 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->verb, ==, PD_HL_VERB_REFUSE);
  g_assert_cmpuint (back->id, ==, 77);
  g_assert_cmpstr (pd_hl_message_get (back, "text"), ==, pd_hl_message_get (m, "text"));
  guint32 v = 0;
  g_assert_true (pd_hl_message_get_uint (back, "retry-in", &v));
  g_assert_cmpuint (v, ==, 240);
}

static void
test_encode_invalid (void)
{
  g_autoptr (GError) error = NULL;
  /* control character */
  g_autoptr (PdHlMessage) a = pd_hl_message_new (PD_HL_VERB_PROGRESS, 3);
  pd_hl_message_set (a, "phase", "stopped");
  pd_hl_message_set (a, "text", "line\nbreak");
  g_assert_null (pd_hl_encode (a, NULL, &error));
  g_assert_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID);
  g_clear_error (&error);
  /* not UTF-8 */
  pd_hl_message_set (a, "text", "\xff");
  g_assert_null (pd_hl_encode (a, NULL, &error));
  g_clear_error (&error);
  /* bad key */
  g_autoptr (PdHlMessage) b = pd_hl_message_new (PD_HL_VERB_PING, 3);
  pd_hl_message_set (b, "Bad Key", "x");
  g_assert_null (pd_hl_encode (b, NULL, &error));
  g_clear_error (&error);
  /* missing required key */
  g_autoptr (PdHlMessage) c = pd_hl_message_new (PD_HL_VERB_CANCEL, 3);
  g_assert_null (pd_hl_encode (c, NULL, &error));
  g_clear_error (&error);
  /* wrong type */
  pd_hl_message_set (c, "request", "soon");
  g_assert_null (pd_hl_encode (c, NULL, &error));
  g_clear_error (&error);
  /* id 0 outside ERROR */
  g_autoptr (PdHlMessage) d = pd_hl_message_new (PD_HL_VERB_PING, 0);
  g_assert_null (pd_hl_encode (d, NULL, &error));
  g_clear_error (&error);
  /* reason too long */
  g_autoptr (PdHlMessage) e = pd_hl_message_new (PD_HL_VERB_RESTART, 5);
  g_autofree char *reason = g_strnfill (PD_HL_MAX_REASON + 1, 'r');
  pd_hl_message_set (e, "reason", reason);
  g_assert_null (pd_hl_encode (e, NULL, &error));
  g_clear_error (&error);
  /* over the line limit after escaping */
  g_autoptr (PdHlMessage) f = pd_hl_message_new (PD_HL_VERB_PROGRESS, 5);
  g_autofree char *text = g_strnfill (400, ' ');
  pd_hl_message_set (f, "phase", "failed");
  pd_hl_message_set (f, "text", text);
  g_assert_null (pd_hl_encode (f, NULL, &error));
  g_assert_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID);
}

/* Feeds @input in chunks of @chunk and collects lines ("!" for too long). */
static char *
assemble (PdHlLineBuf *buf, const char *input, gsize len, gsize chunk)
{
  GString *out = g_string_new (NULL);
  for (gsize off = 0; off < len;)
    {
      gsize n = MIN (chunk, len - off);
      const char *data = input + off;
      off += n;
      while (n > 0)
        {
          gsize used = 0;
          const char *line = NULL;
          gsize line_len = 0;
          PdHlLineStatus st = pd_hl_line_buf_push (buf, data, n, &used, &line, &line_len);
          g_assert_cmpuint (used, <=, n);
          data += used;
          n -= used;
          if (st == PD_HL_LINE_READY)
            {
              g_assert_cmpuint (line_len, <, PD_HL_MAX_LINE);
              g_string_append_len (out, line, (gssize) line_len);
              g_string_append_c (out, '|');
            }
          else if (st == PD_HL_LINE_TOO_LONG)
            g_string_append (out, "!|");
          else
            g_assert_cmpuint (n, ==, 0);
        }
    }
  return g_string_free (out, FALSE);
}

static void
test_line_buf_chunks (void)
{
  const char input[] = "HELLO 1\n\nPING 2 a=b\npartial";
  for (gsize chunk = 1; chunk <= sizeof input; chunk++)
    {
      g_autoptr (PdHlLineBuf) buf = pd_hl_line_buf_new ();
      g_autofree char *got = assemble (buf, input, sizeof input - 1, chunk);
      g_assert_cmpstr (got, ==, "HELLO 1||PING 2 a=b|");
      g_assert_true (pd_hl_line_buf_has_partial (buf));
    }
}

static void
test_line_buf_resync (void)
{
  g_autoptr (PdHlLineBuf) buf = pd_hl_line_buf_new ();
  g_autofree char *a = assemble (buf, "stale half", 10, 4);
  g_assert_cmpstr (a, ==, "");
  pd_hl_line_buf_reset (buf, TRUE);
  g_autofree char *b = assemble (buf, "more stale\nHELLO 3\n", 19, 3);
  g_assert_cmpstr (b, ==, "HELLO 3|");
  g_assert_false (pd_hl_line_buf_has_partial (buf));
}

static void
test_line_buf_too_long (void)
{
  /* 1023 bytes + LF fits; 1024 + LF does not. Then a normal line follows. */
  g_autoptr (GString) s = g_string_new (NULL);
  for (int i = 0; i < PD_HL_MAX_LINE - 1; i++)
    g_string_append_c (s, 'a');
  g_string_append (s, "\n");
  for (int i = 0; i < PD_HL_MAX_LINE; i++)
    g_string_append_c (s, 'b');
  g_string_append (s, "\nPING 1\n");
  for (gsize chunk = 1; chunk < 3000; chunk = chunk * 3 + 1)
    {
      g_autoptr (PdHlLineBuf) buf = pd_hl_line_buf_new ();
      g_autofree char *got = assemble (buf, s->str, s->len, chunk);
      g_assert_true (g_str_has_suffix (got, "|!|PING 1|"));
      g_assert_cmpuint (strlen (got), ==, PD_HL_MAX_LINE - 1 + strlen ("|!|PING 1|"));
    }
}

static void
test_line_buf_huge (void)
{
  /* 20 MB without LF: one TOO_LONG, nothing stored, then a good line. */
  g_autoptr (PdHlLineBuf) buf = pd_hl_line_buf_new ();
  gsize chunk = 1 << 20;
  g_autofree char *junk = g_malloc (chunk);
  memset (junk, 'x', chunk);
  guint too_long = 0;
  for (int i = 0; i < 20; i++)
    {
      gsize used = 0;
      const char *line;
      gsize line_len;
      gsize off = 0;
      while (off < chunk)
        {
          PdHlLineStatus st
              = pd_hl_line_buf_push (buf, junk + off, chunk - off, &used, &line, &line_len);
          off += used;
          g_assert_cmpint (st, !=, PD_HL_LINE_READY);
          if (st == PD_HL_LINE_TOO_LONG)
            too_long++;
        }
    }
  g_assert_cmpuint (too_long, ==, 1);
  g_autofree char *got = assemble (buf, "tail\nPONG 4\n", 12, 5);
  g_assert_cmpstr (got, ==, "PONG 4|");
}

static void
test_verbs (void)
{
  for (guint i = 0; i < PD_HL_N_VERBS; i++)
    {
      const char *name = pd_hl_verb_to_string ((PdHlVerb) i);
      PdHlVerb v;
      g_assert_true (pd_hl_verb_from_string (name, strlen (name), &v));
      g_assert_cmpint (v, ==, i);
      g_assert_true (pd_hl_verb_sent_by_host (v) || pd_hl_verb_sent_by_guest (v));
    }
  g_assert_true (pd_hl_verb_sent_by_host (PD_HL_VERB_HELLO));
  g_assert_false (pd_hl_verb_sent_by_guest (PD_HL_VERB_HELLO));
  g_assert_true (pd_hl_verb_sent_by_guest (PD_HL_VERB_RESTART));
  g_assert_false (pd_hl_verb_sent_by_host (PD_HL_VERB_RESTART));
}

/* Protocol 2: the host doctor's summary. */
static void
test_host_report (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHlMessage) r
      = decode_str ("HOST-REPORT 5 state=fail time=1796000000 ok=20 warn=1 fail=1 items=2", &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->verb, ==, PD_HL_VERB_HOST_REPORT);
  g_assert_true (pd_hl_verb_sent_by_host (PD_HL_VERB_HOST_REPORT));
  g_assert_false (pd_hl_verb_sent_by_guest (PD_HL_VERB_HOST_ITEM));
  g_autoptr (PdHlMessage) i
      = decode_str ("HOST-ITEM 5 n=0 check=vm-hookscript vmid=100 state=fail "
                    "text=VM%20100%E2%80%99s%20hookscript%20is%20missing. fix=chmod%20+x%20/x.sh",
                    &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pd_hl_message_get (i, "text"), ==, "VM 100’s hookscript is missing.");
  g_assert_cmpstr (pd_hl_message_get (i, "fix"), ==, "chmod +x /x.sh");

  /* The bounds: at most 16 items, n below 16, text and fix at most 400 octets. */
  static const char *const bad[] = {
    "HOST-REPORT 5 state=fail time=1 ok=0 warn=0 fail=17 items=17",
    "HOST-ITEM 5 n=16 check=x vmid=0 state=warn text=t",
    "HOST-ITEM 5 n=0 check=x vmid=0 state=warn",
    "HOST-ITEM 5 n=0 check=Bad vmid=0 state=warn text=t",
    "HOST-REPORT 0 state=ok time=1 ok=1 warn=0 fail=0 items=0",
  };
  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (PdHlMessage) m = decode_str (bad[k], &e);
      g_assert_null (m);
      g_assert_error (e, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_BAD_ARGS);
    }
  g_autoptr (PdHlMessage) big = pd_hl_message_new (PD_HL_VERB_HOST_ITEM, 5);
  pd_hl_message_set (big, "n", "0");
  pd_hl_message_set (big, "check", "x");
  pd_hl_message_set (big, "vmid", "0");
  pd_hl_message_set (big, "state", "warn");
  g_autofree char *t400 = g_strnfill (400, 'a'), *t401 = g_strnfill (401, 'a');
  pd_hl_message_set (big, "text", t400);
  g_autofree char *ok_line = pd_hl_encode (big, NULL, &error);
  g_assert_no_error (error);
  pd_hl_message_set (big, "fix", t401);
  g_autofree char *bad_line = pd_hl_encode (big, NULL, &error);
  g_assert_null (bad_line);
  g_assert_error (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_INVALID);
}

/* PROTOCOL.md section 1a: the host's recipe travels as spans of the text
 * and comes back as the same msgid and arguments. */
static void
test_text_spans (void)
{
  g_autoptr (PdMsg) m
      = pd_msg_new_printf ("VM %u's hookscript %s (%s) is missing; 100%% sure, "
                           "group %d, id %04x.",
                           100u, "local:snippets/x.sh", "/var/lib/vz/x.sh", -3, 0x46d1u);
  g_autoptr (PdHlMessage) msg = pd_hl_message_new (PD_HL_VERB_HOST_ITEM, 3);
  pd_hl_text_set (msg, "text", m->english, m);
  g_assert_cmpstr (pd_hl_message_get (msg, "text"), ==, m->english);
  g_assert_cmpstr (pd_hl_message_get (msg, "text-spans"), ==,
                   "3+3:u,20+19:s,41+16:s,88+2:d,95+4:04x");
  /* Through the wire and back. */
  pd_hl_message_set (msg, "n", "0");
  pd_hl_message_set (msg, "check", "vm-hookscript");
  pd_hl_message_set (msg, "vmid", "100");
  pd_hl_message_set (msg, "state", "fail");
  gsize len;
  g_autofree char *line = pd_hl_encode (msg, &len, NULL);
  g_assert_nonnull (line);
  g_autoptr (PdHlMessage) back = pd_hl_decode (line, len - 1, NULL, NULL);
  g_assert_nonnull (back);
  g_autoptr (PdMsg) r = pd_hl_text_get_recipe (back, "text");
  g_assert_nonnull (r);
  g_assert_cmpstr (r->msgid, ==, m->msgid);
  g_assert_cmpstr (r->english, ==, m->english);
  g_assert_cmpuint (g_strv_length (r->args), ==, 5);
  g_assert_cmpstr (r->args[4], ==, "46d1");
  g_assert_true (pd_hl_text_drop_recipe (msg, "text"));
  g_assert_null (pd_hl_message_get (msg, "text-spans"));
  g_assert_false (pd_hl_text_drop_recipe (msg, "text"));

  /* A text that is not what the recipe makes, a plain msgid, a plural:
   * no spans. */
  g_autoptr (PdHlMessage) other = pd_hl_message_new (PD_HL_VERB_REFUSE, 1);
  pd_hl_text_set (other, "text", "VM 100's hookscript ... (shortened)", m);
  g_assert_null (pd_hl_message_get (other, "text-spans"));
  g_autoptr (PdMsg) plain = pd_msg_new_printf ("The VM has stopped.");
  pd_hl_text_set (other, "text", plain->english, plain);
  g_assert_null (pd_hl_message_get (other, "text-spans"));
  g_autoptr (PdMsg) plural = pd_msg_new_plural ("%lu day", "%lu days", 2, 2ul);
  pd_hl_text_set (other, "text", plural->english, plural);
  g_assert_null (pd_hl_message_get (other, "text-spans"));
}

/* What the guest refuses: every bad recipe leaves the plain text. */
static void
test_text_spans_rejected (void)
{
  static const char *const bad[] = {
    "",                                                      /* empty */
    "0+2",                                                   /* no spec */
    "0+2:",                                                  /* empty spec */
    "0+2:f",                                                 /* not a conversion we take */
    "0+2:1$s",                                               /* positional */
    "0+2:*d",                                                /* '*' */
    "0+2:-+ #0123456u",                                      /* spec too long */
    "3+2:u,0+2:u",                                           /* out of order */
    "0+3:u,2+2:u",                                           /* overlapping */
    "30+2:u",                                                /* outside the text */
    "0+99:s",                                                /* longer than the text */
    "0+2:u",                                                 /* "ab" is not a number */
    "0+2:x,4+1:s,",                                          /* trailing comma */
    "0+2:sX",                                                /* garbage after the spec */
    "0+1:s,1+1:s,2+1:s,3+1:s,4+1:s,5+1:s,6+1:s,7+1:s,8+1:s", /* more than 8 */
    "000001+1:s",                                            /* more than 5 digits */
    "13+1:s",                                                /* splits "ü" */
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (PdHlMessage) msg = pd_hl_message_new (PD_HL_VERB_REFUSE, 1);
      pd_hl_message_set (msg, "text", "ab 12 cdefgh ü ijk.");
      pd_hl_message_set (msg, "text-spans", bad[i]);
      g_autoptr (PdMsg) r = pd_hl_text_get_recipe (msg, "text");
      if (r != NULL)
        g_error ("spans \"%s\" were taken: msgid \"%s\"", bad[i], r->msgid);
      g_assert_cmpstr (pd_hl_text_book (msg, "text"), ==, "ab 12 cdefgh ü ijk.");
    }
  /* And a good one on the same text: '%' in the text is doubled. */
  g_autoptr (PdHlMessage) ok = pd_hl_message_new (PD_HL_VERB_REFUSE, 1);
  pd_hl_message_set (ok, "text", "ab 12 cd 5% left");
  pd_hl_message_set (ok, "text-spans", "3+2:u,9+1:u");
  g_autoptr (PdMsg) r = pd_hl_text_get_recipe (ok, "text");
  g_assert_nonnull (r);
  g_assert_cmpstr (r->msgid, ==, "ab %u cd %u%% left");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostlink/codec/decode-hello", test_decode_hello);
  g_test_add_func ("/hostlink/codec/decode-unknown-keys", test_decode_unknown_keys_ignored);
  g_test_add_func ("/hostlink/codec/decode-errors", test_decode_errors);
  g_test_add_func ("/hostlink/codec/decode-embedded-nul", test_decode_embedded_nul);
  g_test_add_func ("/hostlink/codec/decode-too-long", test_decode_too_long);
  g_test_add_func ("/hostlink/codec/encode-roundtrip", test_encode_roundtrip);
  g_test_add_func ("/hostlink/codec/encode-invalid", test_encode_invalid);
  g_test_add_func ("/hostlink/codec/line-buf-chunks", test_line_buf_chunks);
  g_test_add_func ("/hostlink/codec/line-buf-resync", test_line_buf_resync);
  g_test_add_func ("/hostlink/codec/line-buf-too-long", test_line_buf_too_long);
  g_test_add_func ("/hostlink/codec/line-buf-huge", test_line_buf_huge);
  g_test_add_func ("/hostlink/codec/verbs", test_verbs);
  g_test_add_func ("/hostlink/codec/host-report", test_host_report);
  g_test_add_func ("/hostlink/codec/text-spans", test_text_spans);
  g_test_add_func ("/hostlink/codec/text-spans-rejected", test_text_spans_rejected);
  return g_test_run ();
}
