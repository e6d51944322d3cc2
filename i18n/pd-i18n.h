/* pd-i18n.h - gettext for every passdesk program, and sentences that can be
 * worded again in another language later.
 *
 * pd_i18n_init() is the first call of every main(): it sets the locale from
 * the environment and binds the "passdesk" text domain (GETTEXT_PACKAGE) to
 * LOCALEDIR. A build without the .mo files simply prints English.
 *
 * Marking: a sentence people read is written _("...") where it is used,
 * N_("...") in a static table (translated with _() where it is shown), and
 * ngettext() / g_dngettext() when a number decides the form. The .pot lists
 * the files in po/POTFILES.
 *
 * The agent is a system daemon whose sentences reach D-Bus clients that may
 * speak another language. So the health model keeps every sentence in
 * English (the msgid) and remembers, for a sentence made from a format, the
 * format and its arguments as strings (PdMsg). pd_msg_localize() words it
 * again in the calling thread's LC_MESSAGES: the agent does that per call
 * under uselocale() with the locale the client sent (pd_i18n_use_locale),
 * the CLI and the tray for what they computed themselves.
 */
#pragma once

#include "config.h" /* GETTEXT_PACKAGE, before gi18n-lib.h */

#include <glib.h>
#include <glib/gi18n-lib.h>

G_BEGIN_DECLS

/* setlocale (LC_ALL, ""), bindtextdomain, bind_textdomain_codeset (UTF-8),
 * textdomain. The tests point PASSDESK_LOCALEDIR at the build tree's po/;
 * it is ignored in set-uid/set-gid processes. */
void pd_i18n_init (void);
const char *pd_i18n_localedir (void);

/* A sentence made from a format: the English msgid (and plural msgid with
 * its count, or NULL), and each argument already turned into a string by
 * its own conversion ("%04x" of 2 is "0002"). */
typedef struct _PdMsg
{
  char *msgid;
  char *msgid_plural; /* NULL unless plural */
  gulong n;
  GStrv args;
  char *english; /* the sentence in English, as the msgid formats it */
  /* NULL, or one entry per argument: the recipe of an argument that is
   * itself a sentence made from a format (worded along with this one). */
  struct _PdMsg **subs;
} PdMsg;

/* Records @fmt (an untranslated msgid) and its arguments. Supported
 * conversions: d i u x X o c s f g e (with flags, width, precision and the
 * length modifiers hh h l ll z j t; no '*'), and %%. */
PdMsg *pd_msg_new_printf (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
PdMsg *pd_msg_new_valist (const char *fmt, va_list ap) G_GNUC_PRINTF (1, 0);
PdMsg *pd_msg_new_plural (const char *msgid, const char *msgid_plural, gulong n, ...);
/* A recipe from its parts as another program recorded them (the host's
 * sentences, hostlink/hl-text.h): @fmt's conversions are filled with @args
 * in order. NULL when the counts differ or @fmt has a conversion
 * pd_msg_new_printf does not take or a positional one. */
PdMsg *pd_msg_new_from_strings (const char *fmt, const char *const *args);
PdMsg *pd_msg_copy (const PdMsg *m);
void pd_msg_free (PdMsg *m);
/* The sentence in the current thread's language: the translated format with
 * the recorded arguments put in (positional "%2$s" allowed). Falls back to
 * English when there is no translation or it does not fit the arguments. */
char *pd_msg_localize (const PdMsg *m);
/* A plain sentence: its translation if @english is a msgid, else itself. */
const char *pd_i18n_text (const char *english);

/* The sentence book: a program that keeps sentences in English and words
 * them later (the agent) makes a sentence from a format with
 * pd_i18n_sprintf() instead of g_strdup_printf (_ (...)); the recipe is
 * kept in a small, bounded book (the last 2 x 256 sentences), so that code
 * handing the plain English text on (an event, a summary, an argument of
 * another sentence) loses nothing: pd_i18n_book_lookup() finds the recipe
 * again, and a new recipe whose argument is a sentence in the book takes
 * that argument's recipe along (PdMsg.subs). Thread-safe. */
char *pd_i18n_sprintf (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
char *pd_i18n_nprintf (const char *msgid, const char *msgid_plural, gulong n, ...);
/* A text put together from pieces (sentences, parts of sentences made from
 * formats, names): the book gets one recipe for the whole, each piece
 * worded by its own recipe. At most 32 pieces carry a recipe. */
typedef struct _PdI18nJoin PdI18nJoin;
PdI18nJoin *pd_i18n_join_new (void);
void pd_i18n_join_printf (PdI18nJoin *j, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* A plain piece: a msgid (translated later) or a name (kept). */
void pd_i18n_join_append (PdI18nJoin *j, const char *text);
gsize pd_i18n_join_length (const PdI18nJoin *j); /* bytes of English so far */
/* Frees @j and returns the whole text in English, its recipe in the book. */
char *pd_i18n_join_finish (PdI18nJoin *j);

/* Adds @m (taken) to the book. */
void pd_i18n_book_add (PdMsg *m);
/* A copy of the recipe of @english, or NULL when it is not in the book. */
PdMsg *pd_i18n_book_lookup (const char *english);
/* @english in the current thread's language: its recipe (the book's, or
 * @m when given) worded, else its translation as a msgid, else itself. */
char *pd_i18n_localize_text (const char *english);

/* Switches this thread's LC_MESSAGES to @locale (e.g. "de_DE.UTF-8") for as
 * long as the returned handle lives; pd_i18n_restore() switches back. A NULL,
 * empty, over-long or unknown locale changes nothing (returns NULL).
 * Only [A-Za-z0-9_.@-] are accepted, at most 64 bytes. */
gpointer pd_i18n_use_locale (const char *locale);
void pd_i18n_restore (gpointer handle);
/* The caller's LC_MESSAGES locale to send to the agent ("" for C, C.UTF-8, POSIX). */
const char *pd_i18n_messages_locale (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdMsg, pd_msg_free)

G_END_DECLS
