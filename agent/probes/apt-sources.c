/* apt-sources.c - reads apt sources in both formats and plans component edits. */
#include "apt-sources.h"
#include "pd-i18n.h"

#include <gio/gio.h>
#include <string.h>

#include "sysroot.h"

static void
entry_free (gpointer p)
{
  PdAptEntry *e = p;
  g_free (e->file);
  g_free (e->line_text);
  g_free (e->uri);
  g_strfreev (e->suites);
  g_strfreev (e->components);
  g_free (e);
}

PdAptSources *
pd_apt_sources_new (void)
{
  PdAptSources *s = g_new0 (PdAptSources, 1);
  s->entries = g_ptr_array_new_with_free_func (entry_free);
  s->files = g_ptr_array_new_with_free_func (g_free);
  s->errors = g_ptr_array_new_with_free_func (g_free);
  return s;
}

void
pd_apt_sources_free (PdAptSources *s)
{
  if (s == NULL)
    return;
  g_ptr_array_unref (s->entries);
  g_ptr_array_unref (s->files);
  g_ptr_array_unref (s->errors);
  g_free (s->os_codename);
  g_free (s);
}

/* Splits on blanks, dropping empty words. */
static char **
split_words (const char *text)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  const char *p = text;
  while (*p)
    {
      while (*p && g_ascii_isspace (*p))
        p++;
      const char *start = p;
      while (*p && !g_ascii_isspace (*p))
        p++;
      if (p > start)
        {
          g_autofree char *w = g_strndup (start, (gsize) (p - start));
          g_strv_builder_add (b, w);
        }
    }
  return g_strv_builder_end (b);
}

static gboolean
words_contain (char **words, const char *w)
{
  return words != NULL && g_strv_contains ((const char *const *) words, w);
}

void
pd_apt_sources_parse_one_line (PdAptSources *s, const char *file, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *raw = lines[i];
      g_autofree char *line = g_strdup (raw);
      gsize len = strlen (line);
      if (len > 0 && line[len - 1] == '\r')
        line[len - 1] = '\0';
      char *hash = strchr (line, '#');
      if (hash != NULL)
        *hash = '\0';
      char *p = g_strstrip (line);
      if (*p == '\0')
        continue;

      gboolean is_deb = g_str_has_prefix (p, "deb") && g_ascii_isspace (p[3]);
      gboolean is_src = g_str_has_prefix (p, "deb-src") && g_ascii_isspace (p[7]);
      if (!is_deb && !is_src)
        continue;
      p += is_deb ? 3 : 7;
      while (*p && g_ascii_isspace (*p))
        p++;
      if (*p == '[')
        {
          char *close = strchr (p, ']');
          if (close == NULL)
            continue; /* apt refuses such a line too */
          p = close + 1;
        }
      g_auto (GStrv) words = split_words (p);
      if (g_strv_length (words) < 2)
        continue;
      if (g_str_has_prefix (words[0], "cdrom:"))
        continue;

      PdAptEntry *e = g_new0 (PdAptEntry, 1);
      e->format = PD_APT_FORMAT_ONE_LINE;
      e->file = g_strdup (file);
      e->line = i + 1;
      {
        g_autofree char *t = g_strdup (raw);
        gsize tl = strlen (t);
        if (tl > 0 && t[tl - 1] == '\r')
          t[tl - 1] = '\0';
        e->line_text = g_steal_pointer (&t);
      }
      e->has_deb = is_deb;
      e->uri = g_strdup (words[0]);
      e->suites = g_new0 (char *, 2);
      e->suites[0] = g_strdup (words[1]);
      e->components = g_strdupv (words + 2);
      g_ptr_array_add (s->entries, e);
    }
}

typedef struct
{
  char *types, *uris, *suites, *components, *enabled;
  guint components_line;
  char *components_text; /* the whole Components: line, NULL if it continued */
  char **last;           /* field being continued */
} Stanza822;

static void
stanza822_clear (Stanza822 *st)
{
  g_free (st->types);
  g_free (st->uris);
  g_free (st->suites);
  g_free (st->components);
  g_free (st->enabled);
  g_free (st->components_text);
  memset (st, 0, sizeof *st);
}

static void
stanza822_commit (PdAptSources *s, const char *file, Stanza822 *st)
{
  if (st->types == NULL || st->uris == NULL || st->suites == NULL)
    return;
  if (st->enabled != NULL && g_ascii_strcasecmp (g_strstrip (st->enabled), "no") == 0)
    return;
  g_auto (GStrv) types = split_words (st->types);
  g_auto (GStrv) uris = split_words (st->uris);
  if (uris[0] == NULL || g_str_has_prefix (uris[0], "cdrom:"))
    return;
  PdAptEntry *e = g_new0 (PdAptEntry, 1);
  e->format = PD_APT_FORMAT_DEB822;
  e->file = g_strdup (file);
  e->line = st->components_line;
  e->line_text = g_strdup (st->components_text);
  e->has_deb = words_contain (types, "deb");
  e->uri = g_strdup (uris[0]);
  e->suites = split_words (st->suites);
  e->components = split_words (st->components ? st->components : "");
  g_ptr_array_add (s->entries, e);
}

static void
append_value (char **field, const char *value)
{
  char *old = *field;
  *field = old ? g_strconcat (old, " ", value, NULL) : g_strdup (value);
  g_free (old);
}

void
pd_apt_sources_parse_deb822 (PdAptSources *s, const char *file, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  Stanza822 st = { 0 };
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strdup (lines[i]);
      gsize len = strlen (line);
      if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
      if (line[0] == '#')
        continue; /* comments do not end a stanza */
      g_autofree char *trimmed = g_strstrip (g_strdup (line));
      if (trimmed[0] == '\0')
        {
          stanza822_commit (s, file, &st);
          stanza822_clear (&st);
          continue;
        }
      if (line[0] == ' ' || line[0] == '\t')
        {
          if (st.last != NULL)
            {
              append_value (st.last, trimmed);
              if (st.last == &st.components)
                g_clear_pointer (&st.components_text, g_free);
            }
          continue;
        }
      char *colon = strchr (line, ':');
      if (colon == NULL)
        {
          st.last = NULL;
          continue;
        }
      g_autofree char *key = g_strstrip (g_strndup (line, (gsize) (colon - line)));
      g_autofree char *value = g_strstrip (g_strdup (colon + 1));
      char **slot = NULL;
      if (g_ascii_strcasecmp (key, "Types") == 0)
        slot = &st.types;
      else if (g_ascii_strcasecmp (key, "URIs") == 0)
        slot = &st.uris;
      else if (g_ascii_strcasecmp (key, "Suites") == 0)
        slot = &st.suites;
      else if (g_ascii_strcasecmp (key, "Components") == 0)
        {
          slot = &st.components;
          st.components_line = i + 1;
          g_free (st.components_text);
          st.components_text = g_strdup (line);
        }
      else if (g_ascii_strcasecmp (key, "Enabled") == 0)
        slot = &st.enabled;
      if (slot != NULL)
        {
          g_free (*slot);
          *slot = g_steal_pointer (&value);
        }
      st.last = slot;
    }
  stanza822_commit (s, file, &st);
  stanza822_clear (&st);
}

static void
load_file (PdAptSources *s, const char *abs_path, PdAptFormat format, gboolean missing_ok)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = pd_sysroot_read_file (abs_path, PD_APT_SOURCES_MAX_FILE_BYTES,
                                                PD_SYSROOT_READ_DEFAULT, NULL, &error);
  if (text == NULL)
    {
      /* The message names the file already. */
      if (!(missing_ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)))
        g_ptr_array_add (s->errors, g_strdup (error->message));
      return;
    }
  g_ptr_array_add (s->files, g_strdup (abs_path));
  if (format == PD_APT_FORMAT_DEB822)
    pd_apt_sources_parse_deb822 (s, abs_path, text);
  else
    pd_apt_sources_parse_one_line (s, abs_path, text);
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
read_os_codename (void)
{
  g_autofree char *text = pd_sysroot_read_file ("/etc/os-release", PD_APT_SOURCES_MAX_FILE_BYTES,
                                                PD_SYSROOT_READ_DEFAULT, NULL, NULL);
  if (text == NULL)
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "VERSION_CODENAME="))
      {
        g_autofree char *v = g_strstrip (g_strdup (lines[i] + strlen ("VERSION_CODENAME=")));
        gsize n = strlen (v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
          {
            v[n - 1] = '\0';
            memmove (v, v + 1, n - 1);
          }
        for (const char *c = v; *c; c++)
          if (!g_ascii_isalnum (*c) && *c != '-')
            return NULL;
        return v[0] ? g_steal_pointer (&v) : NULL;
      }
  return NULL;
}

PdAptSources *
pd_apt_sources_load (void)
{
  PdAptSources *s = pd_apt_sources_new ();
  s->os_codename = read_os_codename ();
  load_file (s, "/etc/apt/sources.list", PD_APT_FORMAT_ONE_LINE, TRUE);

  g_autofree char *dir_path = pd_sysroot_path ("/etc/apt/sources.list.d");
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return s;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL && names->len < PD_APT_SOURCES_MAX_FILES)
    {
      /* apt's own rule: only these suffixes, and names of [A-Za-z0-9_.-]. */
      if (!g_str_has_suffix (name, ".list") && !g_str_has_suffix (name, ".sources"))
        continue;
      gboolean ok = TRUE;
      for (const char *c = name; *c; c++)
        if (!g_ascii_isalnum (*c) && *c != '_' && *c != '.' && *c != '-')
          ok = FALSE;
      if (ok)
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, cmp_str);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      g_autofree char *abs_path = g_strconcat ("/etc/apt/sources.list.d/", n, NULL);
      load_file (s, abs_path,
                 g_str_has_suffix (n, ".sources") ? PD_APT_FORMAT_DEB822 : PD_APT_FORMAT_ONE_LINE,
                 FALSE);
    }
  return s;
}

static const char *const debian_releases[] = {
  "buster", "bullseye", "bookworm", "trixie",    "forky",        "duke",         "sid",
  "stable", "testing",  "unstable", "oldstable", "oldoldstable", "experimental", NULL,
};

/* "bookworm-updates" -> "bookworm"; "bullseye/updates" -> "bullseye". */
static char *
suite_release (const char *suite)
{
  gsize n = strcspn (suite, "-/");
  g_autofree char *base = g_strndup (suite, n);
  if (!g_strv_contains (debian_releases, base))
    return NULL;
  return g_steal_pointer (&base);
}

gboolean
pd_apt_entry_is_debian (const PdAptEntry *e)
{
  if (!e->has_deb || e->suites == NULL || e->suites[0] == NULL || e->uri == NULL)
    return FALSE;
  /* "stable main" is also what third-party repositories say; the Debian
   * archive and its mirrors carry "debian" in the URI
   * (deb.debian.org/debian, security.debian.org/debian-security, ...). */
  g_autofree char *uri = g_ascii_strdown (e->uri, -1);
  if (strstr (uri, "debian") == NULL)
    return FALSE;
  for (guint i = 0; e->suites[i]; i++)
    {
      g_autofree char *rel = suite_release (e->suites[i]);
      if (rel == NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
pd_apt_entry_has_component (const PdAptEntry *e, const char *component)
{
  return words_contain (e->components, component);
}

/* An entry that carries the release itself ("bookworm", not only -updates). */
static gboolean
entry_is_release (const PdAptEntry *e)
{
  if (!pd_apt_entry_is_debian (e))
    return FALSE;
  for (guint i = 0; e->suites[i]; i++)
    if (strpbrk (e->suites[i], "-/") == NULL)
      return TRUE;
  return FALSE;
}

const char *
pd_apt_sources_debian_suite (const PdAptSources *s)
{
  for (guint i = 0; i < s->entries->len; i++)
    {
      const PdAptEntry *e = s->entries->pdata[i];
      if (!entry_is_release (e))
        continue;
      for (guint j = 0; e->suites[j]; j++)
        if (strpbrk (e->suites[j], "-/") == NULL)
          return e->suites[j];
    }
  return s->os_codename;
}

gboolean
pd_apt_sources_debian_format (const PdAptSources *s, PdAptFormat *format)
{
  for (guint i = 0; i < s->entries->len; i++)
    {
      const PdAptEntry *e = s->entries->pdata[i];
      if (entry_is_release (e))
        {
          *format = e->format;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
pd_apt_sources_has_component (const PdAptSources *s, const char *component)
{
  for (guint i = 0; i < s->entries->len; i++)
    {
      const PdAptEntry *e = s->entries->pdata[i];
      if (entry_is_release (e) && pd_apt_entry_has_component (e, component))
        return TRUE;
    }
  return FALSE;
}

/* Escapes @s for a sed BRE between '|' delimiters. */
static void
append_sed_pattern (GString *out, const char *s)
{
  for (const char *c = s; *c; c++)
    {
      if (strchr ("\\.*[]^$|", *c) != NULL)
        g_string_append_c (out, '\\');
      g_string_append_c (out, *c);
    }
}

static void
append_sed_replacement (GString *out, const char *s)
{
  for (const char *c = s; *c; c++)
    {
      if (strchr ("\\&|", *c) != NULL)
        g_string_append_c (out, '\\');
      g_string_append_c (out, *c);
    }
}

/* One line to change in one file. */
typedef struct
{
  const char *file;
  const char *old_line;
  char *new_line;
} Edit;

static void
edit_clear (gpointer p)
{
  Edit *e = p;
  g_free (e->new_line);
}

static gboolean
safe_for_command (const char *line)
{
  for (const char *c = line; *c; c++)
    if (*c == '\'' || *c == '\n' || *c == '#' || (guchar) *c < 0x20)
      return FALSE;
  return TRUE;
}

gboolean
pd_apt_sources_plan_components (const PdAptSources *s, const char *const *wanted,
                                char **explanation, char **command)
{
  g_return_val_if_fail (explanation != NULL && command != NULL, FALSE);
  *explanation = NULL;
  *command = NULL;
  g_autofree char *wanted_str = g_strjoinv (" ", (char **) wanted);

  gboolean any_debian = FALSE;
  for (guint i = 0; i < s->entries->len; i++)
    if (entry_is_release (s->entries->pdata[i]))
      any_debian = TRUE;
  if (!any_debian)
    {
      const char *suite = pd_apt_sources_debian_suite (s);
      *explanation = pd_i18n_sprintf (
          "No Debian archive entry was found in /etc/apt/sources.list or "
          "/etc/apt/sources.list.d/; add one with the components %s, for example the line "
          "“deb http://deb.debian.org/debian %s %s” in /etc/apt/sources.list, then run "
          "“sudo apt update”.",
          wanted_str, suite ? suite : "<your release>", wanted_str);
      return TRUE;
    }

  g_autoptr (GArray) edits = g_array_new (FALSE, TRUE, sizeof (Edit));
  g_array_set_clear_func (edits, edit_clear);
  g_autoptr (GPtrArray) missing_all = g_ptr_array_new ();
  gboolean safe = TRUE;

  for (guint i = 0; i < s->entries->len; i++)
    {
      const PdAptEntry *e = s->entries->pdata[i];
      if (!pd_apt_entry_is_debian (e))
        continue;
      g_autoptr (GString) add = g_string_new (NULL);
      for (guint w = 0; wanted[w]; w++)
        if (!pd_apt_entry_has_component (e, wanted[w]))
          {
            g_string_append_printf (add, " %s", wanted[w]);
            if (!g_ptr_array_find_with_equal_func (missing_all, wanted[w], g_str_equal, NULL))
              g_ptr_array_add (missing_all, (gpointer) wanted[w]);
          }
      if (add->len == 0)
        continue;
      if (e->line_text == NULL || !safe_for_command (e->line_text))
        {
          safe = FALSE;
          if (e->line_text == NULL)
            continue;
        }
      gboolean dup = FALSE;
      for (guint k = 0; k < edits->len; k++)
        {
          Edit *x = &g_array_index (edits, Edit, k);
          if (strcmp (x->file, e->file) == 0 && strcmp (x->old_line, e->line_text) == 0)
            dup = TRUE;
        }
      if (dup)
        continue;
      g_autofree char *base = g_strdup (e->line_text);
      g_strchomp (base);
      Edit ed = { e->file, e->line_text, g_strconcat (base, add->str, NULL) };
      g_array_append_val (edits, ed);
    }

  if (missing_all->len == 0)
    return FALSE;

  g_ptr_array_add (missing_all, NULL);
  g_autofree char *missing_str = g_strjoinv (" ", (char **) missing_all->pdata);
  /* Pieces with their recipes (pd_i18n_join): the agent's clients read
   * the advice in their own language. */
  PdI18nJoin *text = pd_i18n_join_new ();
  pd_i18n_join_printf (text, "Enable the Debian components %s in your apt sources", missing_str);
  if (edits->len == 0)
    pd_i18n_join_append (text, N_ (" by adding them to each Debian entry's Components: line"));
  if (safe && edits->len > 1)
    {
      /* The command holds every line change; repeating them here made an
       * unreadable paragraph. Name the files and the count instead. */
      g_autoptr (GPtrArray) files = g_ptr_array_new ();
      for (guint k = 0; k < edits->len; k++)
        {
          const char *f = g_array_index (edits, Edit, k).file;
          if (!g_ptr_array_find_with_equal_func (files, f, g_str_equal, NULL))
            g_ptr_array_add (files, (gpointer) f);
        }
      g_ptr_array_add (files, NULL);
      g_autofree char *file_list = g_strjoinv (", ", (char **) files->pdata);
      pd_i18n_join_printf (text,
                           ": the command below adds them to the %u Debian lines of %s "
                           "and runs “sudo apt update”.",
                           edits->len, file_list);
    }
  else
    {
      for (guint k = 0; k < edits->len; k++)
        {
          Edit *x = &g_array_index (edits, Edit, k);
          pd_i18n_join_append (text, k == 0 ? ":" : ";");
          /* TRANSLATORS: a file, the line as it is, the line as it should be. */
          pd_i18n_join_printf (text, " in %s change “%s” to “%s”", x->file, x->old_line,
                               x->new_line);
        }
      pd_i18n_join_append (text, N_ (", then run “sudo apt update”."));
    }
  *explanation = pd_i18n_join_finish (text);

  if (!safe || edits->len == 0)
    return TRUE;

  g_autoptr (GString) cmd = g_string_new (NULL);
  for (guint k = 0; k < edits->len; k++)
    {
      Edit *x = &g_array_index (edits, Edit, k);
      gboolean first_in_file
          = k == 0 || strcmp (g_array_index (edits, Edit, k - 1).file, x->file) != 0;
      if (first_in_file)
        {
          /* Edits of one file are adjacent: entries are in file order. */
          if (k > 0)
            g_string_append (cmd, " && ");
          g_string_append (cmd, "sudo sed -i");
        }
      g_string_append (cmd, " -e 's|^");
      append_sed_pattern (cmd, x->old_line);
      g_string_append (cmd, "$|");
      append_sed_replacement (cmd, x->new_line);
      g_string_append (cmd, "|'");
      gboolean last_in_file
          = k + 1 == edits->len || strcmp (g_array_index (edits, Edit, k + 1).file, x->file) != 0;
      if (last_in_file)
        {
          gboolean plain = TRUE;
          for (const char *ch = x->file; *ch; ch++)
            if (!g_ascii_isalnum (*ch) && strchr ("/._-", *ch) == NULL)
              plain = FALSE;
          g_autofree char *q = plain ? g_strdup (x->file) : g_shell_quote (x->file);
          g_string_append_printf (cmd, " %s", q);
        }
    }
  g_string_append (cmd, " && sudo apt update");
  *command = g_string_free (g_steal_pointer (&cmd), FALSE);
  return TRUE;
}
