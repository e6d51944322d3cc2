/* apt-sources.h - the machine's apt sources: which format (one-line
 * sources.list or deb822 .sources), which Debian suites and components are
 * enabled, and the exact edit that adds missing components.
 *
 * Reads $PASSDESK_SYSROOT/etc/apt/sources.list and sources.list.d/{*.list,
 * *.sources}, each with a size bound. Disabled entries (comments, Enabled: no)
 * and cdrom: entries are left out.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PD_APT_SOURCES_MAX_FILE_BYTES (1024u * 1024)
#define PD_APT_SOURCES_MAX_FILES 256

typedef enum
{
  PD_APT_FORMAT_ONE_LINE = 0, /* deb http://... bookworm main */
  PD_APT_FORMAT_DEB822,       /* Types: / URIs: / Suites: / Components: stanzas */
} PdAptFormat;

typedef struct
{
  PdAptFormat format;
  char *file;        /* absolute path as on the machine (no sysroot prefix) */
  guint line;        /* 1-based: the entry's line (one-line) or its Components: line
                        (deb822; 0 when the stanza has none) */
  char *line_text;   /* that line exactly as in the file; NULL if it spans lines */
  gboolean has_deb;  /* Types include "deb" (not only deb-src) */
  char *uri;         /* first URI */
  char **suites;     /* "bookworm", "bookworm-updates", ... */
  char **components; /* "main", "contrib", ... */
} PdAptEntry;

typedef struct
{
  GPtrArray *entries; /* PdAptEntry, in file order (sources.list first) */
  GPtrArray *files;   /* char*: files that were read (absolute, no prefix) */
  GPtrArray *errors;  /* char*: files that could not be read and why */
  char *os_codename;  /* VERSION_CODENAME from /etc/os-release, or NULL */
} PdAptSources;

PdAptSources *pd_apt_sources_load (void);
/* Parse one file's text; @file is its name on the machine. Appends entries. */
void pd_apt_sources_parse_one_line (PdAptSources *s, const char *file, const char *text);
void pd_apt_sources_parse_deb822 (PdAptSources *s, const char *file, const char *text);
PdAptSources *pd_apt_sources_new (void);
void pd_apt_sources_free (PdAptSources *s);

/* A Debian archive entry: a "deb" entry whose suites are Debian release
 * names (bookworm, trixie, stable, ...) with or without -updates/-security. */
gboolean pd_apt_entry_is_debian (const PdAptEntry *e);
gboolean pd_apt_entry_has_component (const PdAptEntry *e, const char *component);

/* The release suite of the first Debian entry ("bookworm"), else the
 * os-release codename, or NULL. */
const char *pd_apt_sources_debian_suite (const PdAptSources *s);
/* The format the Debian entries use (the first Debian entry's); FALSE when
 * there is none. */
gboolean pd_apt_sources_debian_format (const PdAptSources *s, PdAptFormat *format);
/* TRUE when an enabled Debian entry for the release suite has @component. */
gboolean pd_apt_sources_has_component (const PdAptSources *s, const char *component);

/* What it takes to enable @wanted (NULL-terminated) on every Debian entry.
 * Returns FALSE when nothing is missing. Otherwise sets @explanation to a
 * sentence naming the file(s), the lines as they are and as they should be,
 * and @command to the exact shell command doing it (sed -i on the files,
 * then apt update), or NULL when no safe command can be written (then the
 * explanation says what to edit). */
gboolean pd_apt_sources_plan_components (const PdAptSources *s, const char *const *wanted,
                                         char **explanation, char **command);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdAptSources, pd_apt_sources_free)

G_END_DECLS
