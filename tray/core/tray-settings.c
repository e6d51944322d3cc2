/* tray-settings.c - the tray's key file (see tray-settings.h). */
#include "tray-settings.h"

#include <errno.h>
#include <string.h>

#define GROUP_NOTIFY "notifications"
#define GROUP_AUDIO "audio"
#define DEFAULT_CRITICAL_S 900
#define MAX_CHOSEN 16
#define MAX_NAME 256

struct _PdTraySettings
{
  char *path;
  GKeyFile *kf;
};

PdTraySettings *
pd_tray_settings_new (const char *path)
{
  PdTraySettings *self = g_new0 (PdTraySettings, 1);
  g_autoptr (GError) error = NULL;

  self->path = path ? g_strdup (path)
                    : g_build_filename (g_get_user_config_dir (), "passdesk", "tray.ini", NULL);
  self->kf = g_key_file_new ();
  if (!g_key_file_load_from_file (self->kf, self->path, G_KEY_FILE_KEEP_COMMENTS, &error)
      && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_message ("Ignoring %s (defaults used): %s", self->path, error->message);
  return self;
}

void
pd_tray_settings_free (PdTraySettings *self)
{
  if (self == NULL)
    return;
  g_key_file_unref (self->kf);
  g_free (self->path);
  g_free (self);
}

static void
save (PdTraySettings *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (self->path);

  /* A few hundred bytes to a local file: written at once, so a crash or
   * logout right after a choice does not lose it. */
  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_key_file_save_to_file (self->kf, self->path, &error))
    g_message ("Cannot save the tray settings to %s: %s", self->path,
               error ? error->message : g_strerror (errno));
}

static GStrv
get_list (PdTraySettings *self, const char *group, const char *key)
{
  GStrv list = g_key_file_get_string_list (self->kf, group, key, NULL, NULL);
  return list ? list : g_new0 (char *, 1);
}

gboolean
pd_tray_settings_get_muted (PdTraySettings *self, PdComponentId id)
{
  g_auto (GStrv) muted = get_list (self, GROUP_NOTIFY, "muted");
  return g_strv_contains ((const char *const *) muted, pd_component_id_to_string (id));
}

void
pd_tray_settings_set_muted (PdTraySettings *self, PdComponentId id, gboolean muted)
{
  g_auto (GStrv) old = get_list (self, GROUP_NOTIFY, "muted");
  g_autoptr (GPtrArray) list = g_ptr_array_new ();
  const char *name = pd_component_id_to_string (id);

  for (char **p = old; *p != NULL; p++)
    if (strcmp (*p, name) != 0)
      g_ptr_array_add (list, *p);
  if (muted)
    g_ptr_array_add (list, (char *) name);
  g_key_file_set_string_list (self->kf, GROUP_NOTIFY, "muted", (const char *const *) list->pdata,
                              list->len);
  save (self);
}

guint
pd_tray_settings_get_critical_seconds (PdTraySettings *self)
{
  g_autoptr (GError) error = NULL;
  gint64 v = g_key_file_get_int64 (self->kf, GROUP_NOTIFY, "critical-seconds", &error);

  if (error != NULL)
    return DEFAULT_CRITICAL_S;
  return (guint) CLAMP (v, 0, 7 * 24 * 3600);
}

gboolean
pd_tray_settings_output_chosen (PdTraySettings *self, const char *sink_name)
{
  g_auto (GStrv) chosen = get_list (self, GROUP_AUDIO, "chosen-outputs");
  return sink_name != NULL && g_strv_contains ((const char *const *) chosen, sink_name);
}

void
pd_tray_settings_choose_output (PdTraySettings *self, const char *sink_name)
{
  if (sink_name == NULL || *sink_name == '\0' || strlen (sink_name) > MAX_NAME
      || strchr (sink_name, ';') != NULL)
    return;
  g_auto (GStrv) old = get_list (self, GROUP_AUDIO, "chosen-outputs");
  if (old[0] != NULL && strcmp (old[0], sink_name) == 0)
    return;
  g_autoptr (GPtrArray) list = g_ptr_array_new ();
  g_ptr_array_add (list, (char *) sink_name);
  for (char **p = old; *p != NULL && list->len < MAX_CHOSEN; p++)
    if (strcmp (*p, sink_name) != 0)
      g_ptr_array_add (list, *p);
  g_key_file_set_string_list (self->kf, GROUP_AUDIO, "chosen-outputs",
                              (const char *const *) list->pdata, list->len);
  save (self);
}
