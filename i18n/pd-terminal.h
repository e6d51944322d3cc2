/* pd-terminal.h - laying text out for a terminal, for every passdesk program.
 *
 * Width: text a person reads is wrapped to the terminal's width when the
 * output is a terminal ($COLUMNS, else the terminal's size, else 80
 * columns, as systemctl does). Pipes and files get one record per line,
 * never wrapped, so `grep` and scripts see whole sentences; --help is the
 * exception and is wrapped at 80 columns there, as man pages are. `Code`
 * spans are never broken: a wrapped command line cannot be pasted.
 *
 * Help: GOption does not wrap, and a translated description grows longer
 * than the English one it was fitted to. pd_terminal_handle_help() prints
 * an option context's help wrapped under its own columns (an option's
 * description continues under the description).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Columns to wrap at on @fd: 0 (no wrapping) when @fd is not a terminal. */
guint pd_terminal_width (int fd);

/* Display columns of UTF-8 @text (wide characters count two). */
guint pd_terminal_text_width (const char *text);

/* Appends @text wrapped at @width columns: the first line goes on from
 * column @col (already written), later lines start with @indent spaces.
 * Breaks at spaces; a word longer than the room stays whole. @width 0, or
 * too little room (under 20 columns), appends @text as it is. */
void pd_terminal_append_wrapped (GString *out, const char *text, guint col, guint indent,
                                 guint width);

/* @help (GOption's layout) with every line wider than @width wrapped under
 * its own text: option and command descriptions under their column. */
char *pd_terminal_wrap_help (const char *help, guint width);

/* When @argv (before any "--") asks for help (-h, -?, --help, --help-all),
 * prints @ctx's help wrapped to the terminal (80 columns when not one) and
 * returns TRUE: the caller exits 0. */
gboolean pd_terminal_handle_help (GOptionContext *ctx, int argc, char **argv);

G_END_DECLS
