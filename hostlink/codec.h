/* codec.h - the hostlink wire codec (see hostlink/PROTOCOL.md), shared by the
 * guest end and passdesk-hostd.
 *
 * Pure: no I/O, no main loop, no globals. Three parts:
 *  - PdHlLineBuf: a bounded line assembler. Feed it arbitrary byte chunks; it
 *    yields complete lines (without the LF) or "too long" and never holds more
 *    than PD_HL_MAX_LINE bytes, whatever it is fed.
 *  - pd_hl_decode(): one line → PdHlMessage {verb, id, args}, strictly by the
 *    grammar, with the verb's required keys checked.
 *  - pd_hl_encode(): PdHlMessage → one line with its LF, validated the same way.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PD_HL_PROTOCOL_VERSION 1
#define PD_HL_MAX_LINE 1024 /* octets, LF included */
#define PD_HL_MAX_ARGS 24
#define PD_HL_MAX_KEY 32
#define PD_HL_MAX_REASON 200 /* decoded octets of RESTART's reason */

/* Version 2 adds HOST-REPORT/HOST-ITEM (the host doctor's summary, H→G).
 * The host offers proto=2 proto-min=1 and sends them only to a guest that
 * answered READY proto=2; version 1 guests never see them. */
#define PD_HL_PROTOCOL_VERSION_HOST_REPORT 2
#define PD_HL_MAX_REPORT_ITEMS 16 /* HOST-ITEM lines per HOST-REPORT */
#define PD_HL_MAX_REPORT_TEXT 400 /* decoded octets of HOST-ITEM text and fix */

typedef enum
{
  PD_HL_VERB_HELLO = 0,
  PD_HL_VERB_READY,
  PD_HL_VERB_RESTART,
  PD_HL_VERB_ACCEPT,
  PD_HL_VERB_REFUSE,
  PD_HL_VERB_PROGRESS,
  PD_HL_VERB_CANCEL,
  PD_HL_VERB_OK,
  PD_HL_VERB_STATUS,
  PD_HL_VERB_STATUS_REPLY,
  PD_HL_VERB_PING,
  PD_HL_VERB_PONG,
  PD_HL_VERB_ERROR,
  PD_HL_VERB_RESYNC,
  PD_HL_VERB_HOST_REPORT, /* protocol 2 */
  PD_HL_VERB_HOST_ITEM,   /* protocol 2 */
  PD_HL_N_VERBS,
} PdHlVerb;

const char *pd_hl_verb_to_string (PdHlVerb verb);
gboolean pd_hl_verb_from_string (const char *str, gsize len, PdHlVerb *out);
/* Which side may send it. */
gboolean pd_hl_verb_sent_by_host (PdHlVerb verb);
gboolean pd_hl_verb_sent_by_guest (PdHlVerb verb);

/* Wire codes (PROTOCOL.md section 4). */
#define PD_HL_REFUSE_DISABLED "disabled"
#define PD_HL_REFUSE_RATE_LIMITED "rate-limited"
#define PD_HL_REFUSE_BUSY "busy"
#define PD_HL_REFUSE_OUT_OF_RANGE "out-of-range"
#define PD_HL_REFUSE_BAD_REQUEST "bad-request"
#define PD_HL_REFUSE_NOT_READY "not-ready"
#define PD_HL_REFUSE_UNKNOWN_REQUEST "unknown-request"
#define PD_HL_REFUSE_TOO_LATE "too-late"
#define PD_HL_REFUSE_HOST_ERROR "host-error"

#define PD_HL_ERR_LINE_TOO_LONG "line-too-long"
#define PD_HL_ERR_BAD_SYNTAX "bad-syntax"
#define PD_HL_ERR_UNKNOWN_VERB "unknown-verb"
#define PD_HL_ERR_BAD_ARGS "bad-args"
#define PD_HL_ERR_NOT_READY "not-ready"
#define PD_HL_ERR_UNSUPPORTED_VERSION "unsupported-version"
#define PD_HL_ERR_UNEXPECTED "unexpected"

#define PD_HL_PHASE_SHUTTING_DOWN "shutting-down"
#define PD_HL_PHASE_STOPPED "stopped"
#define PD_HL_PHASE_COOLING_OFF "cooling-off"
#define PD_HL_PHASE_STARTING "starting"
#define PD_HL_PHASE_DONE "done"
#define PD_HL_PHASE_FAILED "failed"
#define PD_HL_PHASE_CANCELLED "cancelled"

#define PD_HL_CODEC_ERROR (pd_hl_codec_error_quark ())
typedef enum
{
  PD_HL_CODEC_ERROR_EMPTY,        /* an empty line: resync filler, ignore it */
  PD_HL_CODEC_ERROR_TOO_LONG,     /* over PD_HL_MAX_LINE */
  PD_HL_CODEC_ERROR_SYNTAX,       /* not a line of the grammar */
  PD_HL_CODEC_ERROR_UNKNOWN_VERB, /* well-formed verb that is not ours */
  PD_HL_CODEC_ERROR_BAD_ARGS,     /* duplicate, missing, too many or bad values */
  PD_HL_CODEC_ERROR_INVALID,      /* encoder: the message breaks the grammar */
} PdHlCodecError;
GQuark pd_hl_codec_error_quark (void);
/* The ERROR message's code= for a decode failure (NULL for EMPTY). */
const char *pd_hl_codec_error_wire_code (PdHlCodecError code);

/* --- messages --- */

typedef struct
{
  char *key;
  char *value; /* decoded: UTF-8 without control characters */
} PdHlArg;

typedef struct
{
  PdHlVerb verb;
  guint32 id;
  GPtrArray *args; /* PdHlArg, in wire order */
} PdHlMessage;

PdHlMessage *pd_hl_message_new (PdHlVerb verb, guint32 id);
void pd_hl_message_free (PdHlMessage *msg);
/* Sets @key (replacing an earlier value). No validation here: pd_hl_encode()
 * validates. */
void pd_hl_message_set (PdHlMessage *msg, const char *key, const char *value);
void pd_hl_message_set_uint (PdHlMessage *msg, const char *key, guint32 value);
void pd_hl_message_set_printf (PdHlMessage *msg, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
const char *pd_hl_message_get (const PdHlMessage *msg, const char *key);
/* FALSE when @key is missing or not a uint of the grammar. */
gboolean pd_hl_message_get_uint (const PdHlMessage *msg, const char *key, guint32 *out);
/* FALSE when @key is missing or not "0"/"1". */
gboolean pd_hl_message_get_bool (const PdHlMessage *msg, const char *key, gboolean *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHlMessage, pd_hl_message_free)

/* Decodes one line (@len bytes, without its LF; it may hold any bytes,
 * including NUL). Checks the grammar and the verb's required keys and their
 * types. On failure returns NULL with a PD_HL_CODEC_ERROR and, when the line's
 * id could be read, stores it in @bad_id (else 0) so the ERROR reply can name
 * it. @bad_id may be NULL. */
PdHlMessage *pd_hl_decode (const char *line, gsize len, guint32 *bad_id, GError **error);

/* Encodes @msg as one line ending in LF (NUL-terminated; @out_len without the
 * NUL may be NULL). NULL with PD_HL_CODEC_ERROR_INVALID when a key breaks the
 * grammar, a value is not UTF-8 or holds control characters, a required key is
 * missing, there are too many args, or the line would exceed PD_HL_MAX_LINE. */
char *pd_hl_encode (const PdHlMessage *msg, gsize *out_len, GError **error);

/* Percent-encodes @value for the wire (no validation). */
char *pd_hl_escape_value (const char *value);
/* The reverse, for a value inside a value (hl-text.h): NULL unless @value
 * is of the grammar and decodes to text (UTF-8, no control characters). */
char *pd_hl_unescape_value (const char *value);

/* --- line assembler --- */

typedef enum
{
  PD_HL_LINE_NEED_MORE = 0, /* all of the input was taken; no complete line yet */
  PD_HL_LINE_READY,         /* a line is ready (see pd_hl_line_buf_push) */
  PD_HL_LINE_TOO_LONG,      /* a line passed the limit; the rest of it up to
                               its LF is discarded silently */
} PdHlLineStatus;

typedef struct _PdHlLineBuf PdHlLineBuf;

PdHlLineBuf *pd_hl_line_buf_new (void);
void pd_hl_line_buf_free (PdHlLineBuf *buf);
/* Forgets any partial line. With @discard_first, also drops the input up to
 * and including the next LF: the resync rule after a (re)connect. */
void pd_hl_line_buf_reset (PdHlLineBuf *buf, gboolean discard_first);
/* Takes bytes from @data until a line completes, a line turns out too long, or
 * @data is used up; *@consumed says how many were taken. On
 * PD_HL_LINE_READY, *@line / *@line_len is the line without its LF, valid
 * until the next call. Call again with the rest of @data until NEED_MORE.
 * Never stores more than PD_HL_MAX_LINE bytes. */
PdHlLineStatus pd_hl_line_buf_push (PdHlLineBuf *buf, const char *data, gsize len, gsize *consumed,
                                    const char **line, gsize *line_len);
/* TRUE when a partial line is held (or a too-long one is being discarded). */
gboolean pd_hl_line_buf_has_partial (const PdHlLineBuf *buf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHlLineBuf, pd_hl_line_buf_free)

G_END_DECLS
