/* hostd-setup.c - plan the args change that adds the hostlink channel. */
#include "hostd-setup.h"
#include "pd-i18n.h"

#include "hostd-config.h"

#include <gio/gio.h>
#include <string.h>

char *
pd_setup_channel_args (guint vmid, const char *socket_dir)
{
  return g_strdup_printf (
      "-chardev socket,id=passdesk,path=%s/%u.passdesk,server=on,wait=off "
      "-device virtio-serial-pci,id=passdesk-serial "
      "-device virtserialport,bus=passdesk-serial.0,chardev=passdesk,name=org.passdesk.hostlink.0,"
      "id=passdesk-port",
      socket_dir, vmid);
}

/* Whether a -chardev/-device option value names one of our ids. */
static gboolean
names_our_id (const char *value)
{
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  for (guint i = 0; parts[i]; i++)
    if (g_str_equal (parts[i], "id=passdesk") || g_str_equal (parts[i], "id=passdesk-serial")
        || g_str_equal (parts[i], "id=passdesk-port"))
      return TRUE;
  return FALSE;
}

/* Finds the args value in `qm config` output: *@args is NULL when there is
 * no args line. FALSE (with an error that says nothing was changed) when the
 * text is not a config. */
static gboolean
find_args (const char *output, guint vmid, char **args_out, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (output ? output : "", "\n", -1);
  g_autofree char *args = NULL;
  guint keys = 0;
  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      if (*l == '\0')
        continue;
      /* Snapshots and pending sections follow the current config. */
      if (*l == '[')
        break;
      /* Proxmox keys: lower-case letters, digits, '-' and '_' then ": ". */
      gsize k = 0;
      while (g_ascii_islower (l[k]) || g_ascii_isdigit (l[k]) || l[k] == '-' || l[k] == '_')
        k++;
      if (k == 0 || l[k] != ':' || (l[k + 1] != ' ' && l[k + 1] != '\0'))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _ ("Line %u of `qm config %u` is not \"key: value\" (%.60s). Nothing was "
                          "changed; edit the arguments by hand (see passdesk-hostd(8))."),
                       i + 1, vmid, l);
          return FALSE;
        }
      keys++;
      if (k == 4 && strncmp (l, "args", 4) == 0)
        {
          if (args)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("`qm config %u` shows two args lines. Nothing was changed; fix the "
                              "VM config by hand."),
                           vmid);
              return FALSE;
            }
          args = g_strdup (l[k + 1] ? l + k + 2 : "");
        }
    }
  if (keys == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("`qm config %u` printed no configuration. Check that VM %u exists "
                      "(`qm list`)."),
                   vmid, vmid);
      return FALSE;
    }
  *args_out = g_steal_pointer (&args);
  return TRUE;
}

/* The VM's args as the shell words QEMU gets; a line we cannot split is
 * left for the admin to fix. */
static gboolean
split_args (const char *args, guint vmid, int *argc, char ***argv, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (g_shell_parse_argv (args, argc, argv, &local))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _ ("The args of VM %u cannot be split into arguments (%s). Nothing was changed; "
                  "fix args by hand."),
               vmid, local->message);
  return FALSE;
}

gboolean
pd_setup_plan (const char *output, guint vmid, const char *socket_dir, PdSetupPlan *plan,
               char **old_args, char **new_args, GError **error)
{
  *old_args = NULL;
  *new_args = NULL;
  g_autofree char *args = NULL;
  if (!find_args (output, vmid, &args, error))
    return FALSE;

  g_autofree char *ours = pd_setup_channel_args (vmid, socket_dir);
  if (args == NULL || *g_strstrip (args) == '\0')
    {
      *plan = PD_SETUP_CHANGE;
      *new_args = g_steal_pointer (&ours);
      return TRUE;
    }

  int argc = 0;
  g_auto (GStrv) argv = NULL;
  if (!split_args (args, vmid, &argc, &argv, error))
    return FALSE;
  g_auto (GStrv) want = g_strsplit (ours, " ", -1);
  guint found = 0;
  for (int i = 0; i < argc; i++)
    {
      gboolean opt = g_str_equal (argv[i], "-chardev") || g_str_equal (argv[i], "-device");
      if (!opt || i + 1 >= argc || !names_our_id (argv[i + 1]))
        continue;
      gboolean exact = FALSE;
      for (guint w = 0; want[w] && want[w + 1]; w += 2)
        if (g_str_equal (argv[i], want[w]) && g_str_equal (argv[i + 1], want[w + 1]))
          exact = TRUE;
      if (!exact)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _ ("The args of VM %u already hold \"%s %s\", which uses a passdesk id "
                          "with other settings. Nothing was changed; remove it from args by hand "
                          "and run setup again."),
                       vmid, argv[i], argv[i + 1]);
          return FALSE;
        }
      found++;
      i++;
    }
  *old_args = g_strdup (args);
  if (found == 3)
    {
      *plan = PD_SETUP_ALREADY_DONE;
      return TRUE;
    }
  if (found != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _ ("The args of VM %u hold only part of the passdesk channel. Nothing was "
                      "changed; remove the passdesk parts from args by hand and run setup again."),
                   vmid);
      return FALSE;
    }
  *plan = PD_SETUP_CHANGE;
  *new_args = g_strconcat (args, " ", ours, NULL);
  return TRUE;
}

/* One word of the args line, where it sits in the text and what it means
 * once quotes and backslashes are taken away (as g_shell_parse_argv reads
 * it, which has accepted the line before this runs). */
typedef struct
{
  gsize start, end;
  GString *word;
} Word;

static void
word_clear (gpointer p)
{
  Word *w = p;
  g_string_free (w->word, TRUE);
}

static GArray *
split_words (const char *s)
{
  GArray *words = g_array_new (FALSE, FALSE, sizeof (Word));
  g_array_set_clear_func (words, word_clear);
  gsize i = 0, n = strlen (s);
  while (i < n)
    {
      while (i < n && g_ascii_isspace (s[i]))
        i++;
      if (i >= n)
        break;
      Word w = { i, i, g_string_new (NULL) };
      char quote = 0;
      for (; i < n && (quote || !g_ascii_isspace (s[i])); i++)
        {
          char c = s[i];
          if (quote == '\'')
            {
              if (c == '\'')
                quote = 0;
              else
                g_string_append_c (w.word, c);
            }
          else if (quote == '"')
            {
              if (c == '"')
                quote = 0;
              else if (c == '\\' && i + 1 < n && strchr ("\"\\$`\n", s[i + 1]))
                g_string_append_c (w.word, s[++i]);
              else
                g_string_append_c (w.word, c);
            }
          else if (c == '\'' || c == '"')
            quote = c;
          else if (c == '\\' && i + 1 < n)
            g_string_append_c (w.word, s[++i]);
          else
            g_string_append_c (w.word, c);
        }
      w.end = i;
      g_array_append_val (words, w);
    }
  return words;
}

gboolean
pd_setup_plan_remove (const char *output, guint vmid, PdSetupPlan *plan, char **old_args,
                      char **new_args, GError **error)
{
  *old_args = NULL;
  *new_args = NULL;
  g_autofree char *args = NULL;
  if (!find_args (output, vmid, &args, error))
    return FALSE;
  if (args == NULL || *g_strstrip (args) == '\0')
    {
      *plan = PD_SETUP_ALREADY_DONE;
      return TRUE;
    }
  int argc = 0;
  g_auto (GStrv) argv = NULL;
  if (!split_args (args, vmid, &argc, &argv, error))
    return FALSE;
  g_autoptr (GArray) words = split_words (args);
  /* Copy the text between the options that go; cut each option with the
   * blanks before it, so the words left keep their own spacing. */
  g_autoptr (GString) kept = g_string_new (NULL);
  gsize from = 0;
  guint removed = 0;
  for (guint i = 0; i + 1 < words->len; i++)
    {
      Word *opt = &g_array_index (words, Word, i);
      Word *val = &g_array_index (words, Word, i + 1);
      if ((!g_str_equal (opt->word->str, "-chardev") && !g_str_equal (opt->word->str, "-device"))
          || !names_our_id (val->word->str))
        continue;
      gsize cut = opt->start;
      while (cut > from && g_ascii_isspace (args[cut - 1]))
        cut--;
      g_string_append_len (kept, args + from, cut - from);
      from = val->end;
      removed++;
      i++;
    }
  if (removed == 0)
    {
      *plan = PD_SETUP_ALREADY_DONE;
      *old_args = g_steal_pointer (&args);
      return TRUE;
    }
  g_string_append (kept, args + from);
  *plan = PD_SETUP_CHANGE;
  *new_args = g_strdup (g_strstrip (kept->str));
  *old_args = g_steal_pointer (&args);
  return TRUE;
}

/* ---- hostd.conf: the reboot conversion ---- */

/* One line of the file with its end (so the text is kept byte for byte). */
typedef struct
{
  const char *start;
  gsize len; /* with its LF, if it has one */
} Line;

/* The stripped text of @l (without its LF), newly allocated. */
static char *
line_text (const Line *l)
{
  char *t = g_strndup (l->start, l->len);
  return g_strstrip (t);
}

gboolean
pd_setup_conf_reboot_cold (const char *text, guint vmid, gboolean on, char **new_text,
                           GError **error)
{
  *new_text = NULL;
  if (text == NULL)
    text = "";
  g_autoptr (GArray) lines = g_array_new (FALSE, FALSE, sizeof (Line));
  for (const char *p = text; *p;)
    {
      const char *nl = strchr (p, '\n');
      Line l = { p, nl ? (gsize) (nl - p + 1) : strlen (p) };
      g_array_append_val (lines, l);
      p += l.len;
    }
  g_autofree char *want_group = g_strdup_printf ("vm %u", vmid);
  gint header = -1, key = -1, last_content = -1;
  gboolean others = FALSE; /* anything else in the VM's group (keys, comments) */
  gboolean in_group = FALSE;
  for (guint i = 0; i < lines->len; i++)
    {
      g_autofree char *t = line_text (&g_array_index (lines, Line, i));
      if (t[0] == '[')
        {
          char *close = strrchr (t, ']');
          in_group = close && (gsize) (close - t - 1) == strlen (want_group)
                     && strncmp (t + 1, want_group, strlen (want_group)) == 0;
          if (in_group)
            header = (gint) i;
          continue;
        }
      if (!in_group || t[0] == '\0')
        continue;
      last_content = (gint) i;
      char *eq = strchr (t, '=');
      if (t[0] != '#' && eq)
        {
          *eq = '\0';
          if (g_str_equal (g_strchomp (t), PD_CONFIG_KEY_REBOOT_COLD))
            {
              key = (gint) i;
              if (on && g_str_equal (g_strstrip (eq + 1), "true"))
                return TRUE; /* already on */
              continue;
            }
        }
      others = TRUE;
    }

  static const char line_on[] = PD_CONFIG_KEY_REBOOT_COLD "=true\n";
  g_autoptr (GString) out = g_string_new (NULL);
  if (on && header < 0)
    {
      /* A new group at the end, after a blank line. */
      g_string_append (out, text);
      if (out->len > 0 && out->str[out->len - 1] != '\n')
        g_string_append_c (out, '\n');
      if (out->len > 0)
        g_string_append_c (out, '\n');
      g_string_append_printf (out, "[%s]\n%s", want_group, line_on);
    }
  else if (on)
    {
      /* Replace the key's line, or add it after the group's last line. */
      gint after = key >= 0 ? key : (last_content >= 0 ? last_content : header);
      for (guint i = 0; i < lines->len; i++)
        {
          const Line *l = &g_array_index (lines, Line, i);
          if ((gint) i != key)
            g_string_append_len (out, l->start, (gssize) l->len);
          if ((gint) i == after)
            {
              if (out->str[out->len - 1] != '\n')
                g_string_append_c (out, '\n');
              g_string_append (out, line_on);
            }
        }
    }
  else
    {
      if (key < 0)
        return TRUE; /* already off */
      /* The header goes too when the group held nothing else (as setup
       * left it), with the blank line setup put before it. */
      gboolean drop_header = !others;
      gint blank_before = -1;
      if (drop_header && header > 0)
        {
          g_autofree char *t = line_text (&g_array_index (lines, Line, header - 1));
          if (t[0] == '\0')
            blank_before = header - 1;
        }
      for (guint i = 0; i < lines->len; i++)
        {
          if ((gint) i == key || (drop_header && ((gint) i == header || (gint) i == blank_before)))
            continue;
          const Line *l = &g_array_index (lines, Line, i);
          g_string_append_len (out, l->start, (gssize) l->len);
        }
    }

  /* What is written must load, with the conversion as asked. */
  g_autoptr (GError) local = NULL;
  g_autoptr (PdHostdConfig) check
      = pd_hostd_config_load_data (out->str, out->len, "the edited hostd.conf", &local);
  if (check == NULL || pd_hostd_config_policy (check, vmid)->reboot_cold != on)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("Cannot edit the configuration safely (%s). Nothing was changed; set %s in "
                      "[%s] by hand (see passdesk-hostd(8))."),
                   local ? local->message : "the result does not hold the change",
                   PD_CONFIG_KEY_REBOOT_COLD, want_group);
      return FALSE;
    }
  *new_text = g_string_free (g_steal_pointer (&out), FALSE);
  return TRUE;
}

gboolean
pd_setup_vm_has_no_reboot (const char *output)
{
  g_auto (GStrv) lines = g_strsplit (output ? output : "", "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (lines[i][0] == '[')
        break; /* snapshots and pending changes */
      if (g_str_has_prefix (lines[i], "reboot:"))
        {
          g_autofree char *v = g_strstrip (g_strdup (lines[i] + strlen ("reboot:")));
          return g_str_equal (v, "0");
        }
    }
  return FALSE;
}
