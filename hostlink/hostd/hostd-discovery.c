/* hostd-discovery.c - the channel sockets in the socket directory. */
#define G_LOG_DOMAIN "passdesk-hostd"

#include "hostd-discovery.h"

#include "hostd-config.h"

#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>

#define SUFFIX ".passdesk"

struct _PdDiscovery
{
  char *dir;
  GFileMonitor *monitor;
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
      if (pd_discovery_parse_name (name, &vmid))
        g_array_append_val (ids, vmid);
    }
  g_array_sort (ids, cmp_uint);
  return ids;
}

static gboolean
report_initial (gpointer data)
{
  PdDiscovery *d = data;
  d->initial_id = 0;
  g_autoptr (GArray) ids = pd_discovery_list (d->dir);
  for (guint i = 0; i < ids->len; i++)
    {
      guint vmid = g_array_index (ids, guint, i);
      g_autofree char *path = g_strdup_printf ("%s/%u" SUFFIX, d->dir, vmid);
      d->func (vmid, path, TRUE, d->user_data);
    }
  return G_SOURCE_REMOVE;
}

static void
on_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
            gpointer data)
{
  PdDiscovery *d = data;
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
          {
            g_autofree char *path = g_file_get_path (file);
            d->func (vmid, path, FALSE, d->user_data);
          }
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
  d->func (vmid, path, present, d->user_data);
}

PdDiscovery *
pd_discovery_new (const char *dir, PdDiscoveryFunc func, gpointer user_data, GError **error)
{
  struct stat st;
  /* Proxmox makes it at boot; making it here too lets hostd start first. */
  g_mkdir_with_parents (dir, 0755);
  if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "The socket directory %s does not exist. Is this a Proxmox VE host? Set "
                   "socket-dir in the configuration otherwise.",
                   dir);
      return NULL;
    }
  g_autoptr (GFile) f = g_file_new_for_path (dir);
  g_autoptr (GError) local = NULL;
  GFileMonitor *m = g_file_monitor_directory (f, G_FILE_MONITOR_WATCH_MOVES, NULL, &local);
  if (m == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot watch %s: %s.", dir,
                   local->message);
      return NULL;
    }
  PdDiscovery *d = g_new0 (PdDiscovery, 1);
  d->dir = g_strdup (dir);
  d->monitor = m;
  d->func = func;
  d->user_data = user_data;
  g_signal_connect (m, "changed", G_CALLBACK (on_changed), d);
  d->initial_id = g_idle_add (report_initial, d);
  return d;
}

void
pd_discovery_free (PdDiscovery *d)
{
  if (d == NULL)
    return;
  g_clear_handle_id (&d->initial_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (d->monitor, d);
  g_file_monitor_cancel (d->monitor);
  g_object_unref (d->monitor);
  g_free (d->dir);
  g_free (d);
}
