/* hostd-discovery.c - the channel sockets in the socket directory. */
#define G_LOG_DOMAIN "passdesk-hostd"

#include "hostd-discovery.h"
#include "pd-i18n.h"

#include "hostd-config.h"

#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>

#define SUFFIX ".passdesk"

struct _PdDiscovery
{
  char *dir;
  char *name;                   /* the directory's own name, as its parent lists it */
  GFileMonitor *monitor;        /* the directory, while it exists */
  GFileMonitor *parent_monitor; /* its parent, only while the directory is gone */
  GHashTable *known;            /* vmids reported present (GUINT_TO_POINTER) */
  PdDiscoveryFunc func;
  gpointer user_data;
  guint initial_id;
};

gboolean
pd_discovery_parse_name (const char *name, guint *vmid)
{
  if (name == NULL || !g_str_has_suffix (name, SUFFIX))
    return FALSE;
  gsize n = strlen (name) - strlen (SUFFIX);
  if (n == 0 || n > 9)
    return FALSE;
  char digits[10];
  memcpy (digits, name, n);
  digits[n] = '\0';
  return pd_vmid_parse (digits, vmid);
}

gboolean
pd_discovery_is_socket (const char *path)
{
  /* lstat: a symlink is never followed, wherever it points. */
  struct stat st;
  return lstat (path, &st) == 0 && S_ISSOCK (st.st_mode);
}

static gint
cmp_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

GArray *
pd_discovery_list (const char *dir)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      guint vmid;
      if (!pd_discovery_parse_name (name, &vmid))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (pd_discovery_is_socket (path))
        g_array_append_val (ids, vmid);
    }
  g_array_sort (ids, cmp_uint);
  return ids;
}

static void
report (PdDiscovery *d, guint vmid, gboolean present)
{
  if (present)
    g_hash_table_add (d->known, GUINT_TO_POINTER (vmid));
  else if (!g_hash_table_remove (d->known, GUINT_TO_POINTER (vmid)))
    return; /* never reported: nothing to take back */
  g_autofree char *path = g_strdup_printf ("%s/%u" SUFFIX, d->dir, vmid);
  d->func (vmid, path, present, d->user_data);
}

/* Brings what was reported in line with the directory now. */
static void
scan (PdDiscovery *d)
{
  g_autoptr (GArray) ids = pd_discovery_list (d->dir);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (guint i = 0; i < ids->len; i++)
    {
      guint vmid = g_array_index (ids, guint, i);
      g_hash_table_add (seen, GUINT_TO_POINTER (vmid));
      if (!g_hash_table_contains (d->known, GUINT_TO_POINTER (vmid)))
        report (d, vmid, TRUE);
    }
  g_autoptr (GList) known = g_hash_table_get_keys (d->known);
  for (GList *l = known; l; l = l->next)
    if (!g_hash_table_contains (seen, l->data))
      report (d, GPOINTER_TO_UINT (l->data), FALSE);
}

static gboolean
report_initial (gpointer data)
{
  PdDiscovery *d = data;
  d->initial_id = 0;
  scan (d);
  return G_SOURCE_REMOVE;
}

static void watch_parent (PdDiscovery *d);
static gboolean watch_dir (PdDiscovery *d, GError **error);

static void
drop_monitor (GFileMonitor **m, gpointer data)
{
  if (*m == NULL)
    return;
  g_signal_handlers_disconnect_by_data (*m, data);
  g_file_monitor_cancel (*m);
  g_clear_object (m);
}

/* The directory went: every socket in it went too. Its parent is watched
 * until it comes back (only then, so a busy /run costs nothing normally). */
static void
dir_gone (PdDiscovery *d)
{
  g_message ("The socket directory %s was removed; hostd waits for it to come back.", d->dir);
  drop_monitor (&d->monitor, d);
  g_autoptr (GList) known = g_hash_table_get_keys (d->known);
  for (GList *l = known; l; l = l->next)
    report (d, GPOINTER_TO_UINT (l->data), FALSE);
  watch_parent (d);
}

static void
on_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
            gpointer data)
{
  PdDiscovery *d = data;
  g_autofree char *file_path = g_file_get_path (file);
  if (g_strcmp0 (file_path, d->dir) == 0)
    {
      if (event == G_FILE_MONITOR_EVENT_DELETED || event == G_FILE_MONITOR_EVENT_MOVED_OUT
          || event == G_FILE_MONITOR_EVENT_UNMOUNTED || event == G_FILE_MONITOR_EVENT_RENAMED)
        dir_gone (d);
      return;
    }
  gboolean present;
  GFile *subject = file;
  switch (event)
    {
    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
      present = TRUE;
      break;
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
      present = FALSE;
      break;
    case G_FILE_MONITOR_EVENT_RENAMED:
      /* old name gone, new name there */
      {
        g_autofree char *old = g_file_get_basename (file);
        guint vmid;
        if (pd_discovery_parse_name (old, &vmid))
          report (d, vmid, FALSE);
      }
      subject = other;
      present = TRUE;
      break;
    default:
      return;
    }
  if (subject == NULL)
    return;
  g_autofree char *name = g_file_get_basename (subject);
  guint vmid;
  if (!pd_discovery_parse_name (name, &vmid))
    return;
  g_autofree char *path = g_file_get_path (subject);
  if (present && !pd_discovery_is_socket (path))
    {
      /* A symlink or anything else named like a socket: never connected to. */
      g_message ("Ignoring %s: it is not a socket in %s itself (symlinks are not followed).", path,
                 d->dir);
      report (d, vmid, FALSE);
      return;
    }
  report (d, vmid, present);
}

static void
on_parent_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
                   gpointer data)
{
  PdDiscovery *d = data;
  GFile *subject = event == G_FILE_MONITOR_EVENT_RENAMED ? other : file;
  if (subject == NULL
      || (event != G_FILE_MONITOR_EVENT_CREATED && event != G_FILE_MONITOR_EVENT_MOVED_IN
          && event != G_FILE_MONITOR_EVENT_RENAMED))
    return;
  g_autofree char *name = g_file_get_basename (subject);
  if (g_strcmp0 (name, d->name) != 0)
    return;
  g_autoptr (GError) error = NULL;
  if (!watch_dir (d, &error))
    {
      g_message ("%s", error->message);
      return;
    }
  g_message ("The socket directory %s is back.", d->dir);
  drop_monitor (&d->parent_monitor, d);
  scan (d);
}

static void
watch_parent (PdDiscovery *d)
{
  if (d->parent_monitor)
    return;
  g_autofree char *parent = g_path_get_dirname (d->dir);
  g_autoptr (GFile) f = g_file_new_for_path (parent);
  g_autoptr (GError) error = NULL;
  d->parent_monitor = g_file_monitor_directory (f, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
  if (d->parent_monitor == NULL)
    {
      g_warning ("Cannot watch %s for the socket directory to come back: %s. Restart "
                 "passdesk-hostd once %s exists again.",
                 parent, error->message, d->dir);
      return;
    }
  g_signal_connect (d->parent_monitor, "changed", G_CALLBACK (on_parent_changed), d);
  /* It may have come back before the watch was in place. */
  g_autoptr (GError) local = NULL;
  if (watch_dir (d, &local))
    {
      drop_monitor (&d->parent_monitor, d);
      scan (d);
    }
}

static gboolean
watch_dir (PdDiscovery *d, GError **error)
{
  struct stat st;
  if (stat (d->dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _ ("The socket directory %s does not exist. Is this a Proxmox VE host? Set "
                      "socket-dir in the configuration otherwise."),
                   d->dir);
      return FALSE;
    }
  if (d->monitor)
    return TRUE;
  g_autoptr (GFile) f = g_file_new_for_path (d->dir);
  g_autoptr (GError) local = NULL;
  d->monitor = g_file_monitor_directory (f, G_FILE_MONITOR_WATCH_MOVES, NULL, &local);
  if (d->monitor == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("Cannot watch %s: %s."), d->dir,
                   local->message);
      return FALSE;
    }
  g_signal_connect (d->monitor, "changed", G_CALLBACK (on_changed), d);
  return TRUE;
}

PdDiscovery *
pd_discovery_new (const char *dir, PdDiscoveryFunc func, gpointer user_data, GError **error)
{
  /* Proxmox makes it at boot; making it here too lets hostd start first. */
  g_mkdir_with_parents (dir, 0755);
  PdDiscovery *d = g_new0 (PdDiscovery, 1);
  d->dir = g_strdup (dir);
  /* Trailing slashes would make the names differ from what monitors report. */
  while (strlen (d->dir) > 1 && g_str_has_suffix (d->dir, "/"))
    d->dir[strlen (d->dir) - 1] = '\0';
  d->name = g_path_get_basename (d->dir);
  d->known = g_hash_table_new (g_direct_hash, g_direct_equal);
  d->func = func;
  d->user_data = user_data;
  if (!watch_dir (d, error))
    {
      pd_discovery_free (d);
      return NULL;
    }
  d->initial_id = g_idle_add (report_initial, d);
  return d;
}

void
pd_discovery_free (PdDiscovery *d)
{
  if (d == NULL)
    return;
  g_clear_handle_id (&d->initial_id, g_source_remove);
  drop_monitor (&d->monitor, d);
  drop_monitor (&d->parent_monitor, d);
  g_hash_table_unref (d->known);
  g_free (d->dir);
  g_free (d->name);
  g_free (d);
}
