/* hl-text.h - the host's sentences on the wire with their recipes, so the
 * guest can word them in each of its users' languages.
 *
 * A text value (text=, fix=, last-text=) is English. Next to it the host may
 * send KEY-spans (PROTOCOL.md section 1a): where in the text each argument
 * of its msgid stands and which conversion printed it. The guest puts the
 * msgid back together from the text itself (the arguments replaced by their
 * conversions), so the recipe costs a few octets per argument and a line
 * keeps room for both texts of a HOST-ITEM. The guest takes a recipe only
 * when it is bounded and well-formed; it can never show more than the host
 * said, only the same in the guest's translation of the msgid. No recipe
 * (an older host) or a bad one leaves the English text as it came.
 */
#pragma once

#include "codec.h"
#include "pd-i18n.h"

G_BEGIN_DECLS

#define PD_HL_MAX_TEXT_ARGS 8 /* spans per text */
#define PD_HL_MAX_SPEC 8      /* octets of one conversion, without the '%' */

/* Host: sets @key to @english and, when @m (or, with @m NULL, the sentence
 * book: pd_i18n_book_lookup) has its recipe and the recipe makes @english,
 * KEY-spans. A recipe with plural forms, a positional conversion, a
 * conversion other than s d i u x X, or more than PD_HL_MAX_TEXT_ARGS
 * arguments is left out. */
void pd_hl_text_set (PdHlMessage *msg, const char *key, const char *english, const PdMsg *m);
/* Removes KEY-spans (the first thing to go when a line is too long); TRUE
 * when it was there. */
gboolean pd_hl_text_drop_recipe (PdHlMessage *msg, const char *key);

/* Guest: the recipe sent with @key, checked as above; NULL when there is
 * none or it does not hold. */
PdMsg *pd_hl_text_get_recipe (const PdHlMessage *msg, const char *key);
/* Guest: @key's text (NULL when absent), its checked recipe added to the
 * sentence book so that whatever shows the text words it per locale. */
const char *pd_hl_text_book (const PdHlMessage *msg, const char *key);

G_END_DECLS
