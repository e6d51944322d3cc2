/* hostd-config.c - load and validate hostd.conf. */
#include "hostd-config.h"
#include "pd-i18n.h"

#include "hostd-file.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

typedef enum
{
  KEY_GLOBAL_ONLY,
  KEY_POLICY,
  KEY_VM_ONLY, /* a decision about one VM, never a default for all */
} KeyScope;

typedef struct
{
  const char *name;
  KeyScope scope;
} KnownKey;

static const KnownKey known_keys[] = {
  { "socket-dir", KEY_GLOBAL_ONLY },
  { "qm", KEY_GLOBAL_ONLY },
  { "state-dir", KEY_GLOBAL_ONLY },
  { "poll-interval-ms", KEY_GLOBAL_ONLY },
  { "qm-timeout", KEY_GLOBAL_ONLY },
  { "start-lock-timeout", KEY_GLOBAL_ONLY },
  { "confirm-timeout", KEY_GLOBAL_ONLY },
  { "enabled", KEY_POLICY },
  { "cool-off", KEY_POLICY },
  { "cool-off-min", KEY_POLICY },
  { "cool-off-max", KEY_POLICY },
  { "shutdown-timeout", KEY_POLICY },
  { "on-timeout", KEY_POLICY },
  { "min-interval", KEY_POLICY },
  { "max-per-day", KEY_POLICY },
  { PD_CONFIG_KEY_REBOOT_COLD, KEY_VM_ONLY },
};

gboolean
pd_vmid_parse (const char *text, guint *vmid)
{
  if (text == NULL || text[0] < '1' || text[0] > '9' || strlen (text) > 9)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  guint64 v = g_ascii_strtoull (text, NULL, 10);
  if (v < PD_VMID_MIN || v > PD_VMID_MAX)
    return FALSE;
  if (vmid)
    *vmid = (guint) v;
  return TRUE;
}

const char *
pd_on_timeout_to_string (PdOnTimeout value)
{
  return value == PD_ON_TIMEOUT_LEAVE_RUNNING ? "leave-running" : "force-stop";
}

static void
policy_defaults (PdVmPolicy *p)
{
  p->enabled = TRUE;
  p->cool_off = 10;
  p->cool_off_min = 5;
  p->cool_off_max = 120;
  p->shutdown_timeout = 180;
  p->on_timeout = PD_ON_TIMEOUT_FORCE_STOP;
  p->min_interval = 300;
  p->max_per_day = 6;
  p->reboot_cold = FALSE;
}

PdHostdConfig *
pd_hostd_config_new_defaults (void)
{
  PdHostdConfig *c = g_new0 (PdHostdConfig, 1);
  c->socket_dir = g_strdup ("/run/qemu-server");
  c->qm = g_strdup ("/usr/sbin/qm");
  c->state_dir = g_strdup ("/var/lib/passdesk");
  c->poll_interval_ms = 2000;
  c->qm_timeout = 120;
  c->start_lock_timeout = 60;
  c->confirm_timeout = 60;
  policy_defaults (&c->defaults);
  c->vms = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  return c;
}

void
pd_hostd_config_free (PdHostdConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->path);
  g_free (c->socket_dir);
  g_free (c->qm);
  g_free (c->state_dir);
  g_hash_table_unref (c->vms);
  g_free (c);
}

const PdVmPolicy *
pd_hostd_config_policy (const PdHostdConfig *c, guint vmid)
{
  const PdVmPolicy *p = g_hash_table_lookup (c->vms, GUINT_TO_POINTER (vmid));
  return p ? p : &c->defaults;
}

static gboolean
bad_value (GError **error, const char *origin, const char *group, const char *key,
           const char *value, const char *want)
{
  g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
               _ ("%s: [%s] %s = \"%s\" is not valid: %s. Fix the value or remove the key to use "
                  "the default."),
               origin, group, key, value, want);
  return FALSE;
}

/* Reads an unsigned integer key in [min, max]; leaves *out alone if absent. */
static gboolean
get_uint (GKeyFile *kf, const char *origin, const char *group, const char *key, guint min,
          guint max, guint *out, GError **error)
{
  g_autofree char *raw = g_key_file_get_value (kf, group, key, NULL);
  if (raw == NULL)
    return TRUE;
  g_strstrip (raw);
  guint64 v;
  g_autoptr (GError) local = NULL;
  if (!g_ascii_string_to_unsigned (raw, 10, min, max, &v, &local))
    {
      g_autofree char *want
          = g_strdup_printf (_ ("expected a whole number from %u to %u"), min, max);
      return bad_value (error, origin, group, key, raw, want);
    }
  *out = (guint) v;
  return TRUE;
}

static gboolean
get_bool (GKeyFile *kf, const char *origin, const char *group, const char *key, gboolean *out,
          GError **error)
{
  g_autofree char *raw = g_key_file_get_value (kf, group, key, NULL);
  if (raw == NULL)
    return TRUE;
  g_strstrip (raw);
  if (g_strcmp0 (raw, "true") == 0)
    *out = TRUE;
  else if (g_strcmp0 (raw, "false") == 0)
    *out = FALSE;
  else
    return bad_value (error, origin, group, key, raw, "expected true or false");
  return TRUE;
}

static gboolean
get_abs_path (GKeyFile *kf, const char *origin, const char *group, const char *key, char **out,
              GError **error)
{
  g_autofree char *raw = g_key_file_get_value (kf, group, key, NULL);
  if (raw == NULL)
    return TRUE;
  g_strstrip (raw);
  if (!g_path_is_absolute (raw) || strlen (raw) > 200)
    return bad_value (error, origin, group, key, raw, "expected an absolute path");
  g_free (*out);
  *out = g_steal_pointer (&raw);
  return TRUE;
}

static gboolean
load_policy (GKeyFile *kf, const char *origin, const char *group, PdVmPolicy *p, GError **error)
{
  if (!get_bool (kf, origin, group, "enabled", &p->enabled, error)
      || !get_uint (kf, origin, group, "cool-off", 0, 3600, &p->cool_off, error)
      || !get_uint (kf, origin, group, "cool-off-min", 0, 3600, &p->cool_off_min, error)
      || !get_uint (kf, origin, group, "cool-off-max", 0, 3600, &p->cool_off_max, error)
      || !get_uint (kf, origin, group, "shutdown-timeout", 1, 3600, &p->shutdown_timeout, error)
      || !get_uint (kf, origin, group, "min-interval", 0, 7 * 86400, &p->min_interval, error)
      || !get_uint (kf, origin, group, "max-per-day", 1, 1000, &p->max_per_day, error))
    return FALSE;

  g_autofree char *on_timeout = g_key_file_get_value (kf, group, "on-timeout", NULL);
  if (on_timeout)
    {
      g_strstrip (on_timeout);
      if (g_strcmp0 (on_timeout, "force-stop") == 0)
        p->on_timeout = PD_ON_TIMEOUT_FORCE_STOP;
      else if (g_strcmp0 (on_timeout, "leave-running") == 0)
        p->on_timeout = PD_ON_TIMEOUT_LEAVE_RUNNING;
      else
        return bad_value (error, origin, group, "on-timeout", on_timeout,
                          "expected force-stop or leave-running");
    }

  /* The range must hold the default, whatever group set which end. */
  if (p->cool_off_min > p->cool_off_max || p->cool_off < p->cool_off_min
      || p->cool_off > p->cool_off_max)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _ ("%s: [%s] cool-off = %u must lie within cool-off-min = %u and cool-off-max = "
                      "%u. Change one of these keys."),
                   origin, group, p->cool_off, p->cool_off_min, p->cool_off_max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_keys (GKeyFile *kf, const char *origin, const char *group, gboolean is_global, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++)
    {
      const KnownKey *found = NULL;
      for (guint k = 0; k < G_N_ELEMENTS (known_keys); k++)
        if (strcmp (keys[i], known_keys[k].name) == 0)
          found = &known_keys[k];
      if (found == NULL)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                       _ ("%s: [%s] has an unknown key \"%s\". Check its spelling against "
                          "passdesk-hostd(8)."),
                       origin, group, keys[i]);
          return FALSE;
        }
      if (is_global && found->scope == KEY_VM_ONLY)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _ ("%s: [%s] key \"%s\" belongs in a VM's group ([vm VMID]): it is "
                          "switched on per VM (passdesk-hostd setup VMID --%s)."),
                       origin, group, keys[i], keys[i]);
          return FALSE;
        }
      if (!is_global && found->scope == KEY_GLOBAL_ONLY)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _ ("%s: [%s] key \"%s\" belongs in [global], not in a VM's group."), origin,
                       group, keys[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* What GKeyFile would hide: a NUL byte ends a value silently, and a key or a
 * group given twice is merged with the last one winning. Both are refused
 * here, naming the lines, so what the admin reads is what hostd uses. */
static gboolean
check_text (const char *data, gsize len, const char *origin, GError **error)
{
  const char *nul = memchr (data, '\0', len);
  if (nul)
    {
      guint line = 1;
      for (const char *p = data; p < nul; p++)
        line += *p == '\n';
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
                   _ ("%s: line %u holds a NUL byte; the configuration must be plain text. Remove "
                      "it (e.g. rewrite the line in an editor)."),
                   origin, line);
      return FALSE;
    }
  g_autoptr (GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *group = NULL;
  guint lineno = 0;
  const char *p = data, *end = data + len;
  while (p < end)
    {
      const char *eol = memchr (p, '\n', (gsize) (end - p));
      if (eol == NULL)
        eol = end;
      lineno++;
      g_autofree char *line = g_strndup (p, (gsize) (eol - p));
      p = eol + 1;
      g_strstrip (line);
      if (line[0] == '\0' || line[0] == '#')
        continue;
      if (line[0] == '[')
        {
          char *close = strrchr (line, ']');
          if (close == NULL)
            continue; /* GKeyFile reports the syntax error */
          g_free (group);
          group = g_strndup (line + 1, (gsize) (close - line - 1));
          guint first = GPOINTER_TO_UINT (g_hash_table_lookup (groups, group));
          if (first)
            {
              g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                           _ ("%s: group [%s] appears twice (lines %u and %u). Merge them into "
                              "one group."),
                           origin, group, first, lineno);
              return FALSE;
            }
          g_hash_table_insert (groups, g_strdup (group), GUINT_TO_POINTER (lineno));
          continue;
        }
      char *eq = strchr (line, '=');
      if (eq == NULL || group == NULL)
        continue; /* GKeyFile reports it */
      *eq = '\0';
      g_strchomp (line);
      g_autofree char *id = g_strdup_printf ("%s\n%s", group, line);
      guint first = GPOINTER_TO_UINT (g_hash_table_lookup (keys, id));
      if (first)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _ ("%s: [%s] sets \"%s\" twice (lines %u and %u). Keep one of them."),
                       origin, group, line, first, lineno);
          return FALSE;
        }
      g_hash_table_insert (keys, g_steal_pointer (&id), GUINT_TO_POINTER (lineno));
    }
  return TRUE;
}

PdHostdConfig *
pd_hostd_config_load_data (const char *data, gsize len, const char *origin, GError **error)
{
  if (!check_text (data, len, origin, error))
    return NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
                   _ ("%s: cannot be read as a key file: %s. Fix its syntax (see "
                      "passdesk-hostd(8))."),
                   origin, local->message);
      return NULL;
    }

  g_autoptr (PdHostdConfig) c = pd_hostd_config_new_defaults ();
  c->path = g_strdup (origin);

  if (g_key_file_has_group (kf, "global"))
    {
      const char *g = "global";
      if (!check_keys (kf, origin, g, TRUE, error)
          || !get_abs_path (kf, origin, g, "socket-dir", &c->socket_dir, error)
          || !get_abs_path (kf, origin, g, "qm", &c->qm, error)
          || !get_abs_path (kf, origin, g, "state-dir", &c->state_dir, error)
          || !get_uint (kf, origin, g, "poll-interval-ms", 50, 60000, &c->poll_interval_ms, error)
          || !get_uint (kf, origin, g, "qm-timeout", 1, 3600, &c->qm_timeout, error)
          || !get_uint (kf, origin, g, "start-lock-timeout", 0, 3600, &c->start_lock_timeout, error)
          || !get_uint (kf, origin, g, "confirm-timeout", 1, 3600, &c->confirm_timeout, error)
          || !load_policy (kf, origin, g, &c->defaults, error))
        return NULL;
    }

  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      const char *g = groups[i];
      if (strcmp (g, "global") == 0)
        continue;
      guint vmid;
      if (!g_str_has_prefix (g, "vm ") || !pd_vmid_parse (g + 3, &vmid))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                       _ ("%s: unknown group [%s]. Groups are [global] and [vm VMID] with a VMID "
                          "from %u to %u, e.g. [vm 100]."),
                       origin, g, PD_VMID_MIN, PD_VMID_MAX);
          return NULL;
        }
      if (g_hash_table_contains (c->vms, GUINT_TO_POINTER (vmid)))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _ ("%s: [%s] appears twice under different spellings. Keep one."), origin,
                       g);
          return NULL;
        }
      PdVmPolicy *p = g_new (PdVmPolicy, 1);
      *p = c->defaults;
      g_hash_table_insert (c->vms, GUINT_TO_POINTER (vmid), p);
      if (!check_keys (kf, origin, g, FALSE, error) || !load_policy (kf, origin, g, p, error)
          || !get_bool (kf, origin, g, PD_CONFIG_KEY_REBOOT_COLD, &p->reboot_cold, error))
        return NULL;
    }
  return g_steal_pointer (&c);
}

PdHostdConfig *
pd_hostd_config_load (const char *path, gboolean must_exist, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!pd_file_read_bounded (path, 1024 * 1024, &data, &len, &local))
    {
      if (!must_exist && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          PdHostdConfig *c = pd_hostd_config_new_defaults ();
          return c;
        }
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_FAILED))
        g_set_error (error, G_FILE_ERROR, local->code,
                     _ ("Cannot use the configuration: %s (1 MiB); that is not a hostd "
                        "configuration. Check the path given with --config."),
                     local->message);
      else
        g_set_error (error, G_FILE_ERROR, local->code,
                     _ ("Cannot read the configuration: %s. Point --config at the hostd.conf text "
                        "file."),
                     local->message);
      return NULL;
    }
  return pd_hostd_config_load_data (data, len, path, error);
}
