/* hostd-doctor-read.c - the doctor's facts from a (prefixed) host tree. */
#include "hostd-doctor-read.h"
#include "pd-i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
host_path (const PdDoctorHost *h, const char *path)
{
  return g_strconcat (h->root, path, NULL);
}

/* Reads at most PD_DOCTOR_READ_MAX bytes of @path; NULL when unreadable.
 * /proc and sysfs files report size 0, so this reads to EOF. */
static char *
read_bounded (const char *path, char **why)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      if (why)
        *why = g_strdup (g_strerror (errno));
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      if (why)
        *why = g_strdup ("not a regular file");
      close (fd);
      return NULL;
    }
  GString *s = g_string_sized_new (256);
  char buf[4096];
  while (s->len < PD_DOCTOR_READ_MAX)
    {
      ssize_t n = read (fd, buf, MIN (sizeof buf, PD_DOCTOR_READ_MAX - s->len));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (s, buf, n);
    }
  close (fd);
  /* Text only: a NUL ends it; the rest is made valid UTF-8 without controls. */
  g_autofree char *raw = g_string_free (s, FALSE);
  return pd_doctor_clean_text (raw);
}

static char *
read_host (const PdDoctorHost *h, const char *path)
{
  g_autofree char *p = host_path (h, path);
  return read_bounded (p, NULL);
}

static char *
read_attr (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *v = read_bounded (p, NULL);
  if (v)
    g_strstrip (v);
  return v;
}

static guint
parse_hex (const char *s)
{
  if (s == NULL)
    return 0;
  guint64 v = g_ascii_strtoull (s, NULL, 16);
  return v > G_MAXUINT ? 0 : (guint) v;
}

/* Entries of @dir (sorted, at most PD_DOCTOR_MAX_ENTRIES); NULL when it cannot
 * be opened. */
static gint
cmp_name (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GPtrArray *
list_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *n;
  while ((n = g_dir_read_name (d)) && names->len < PD_DOCTOR_MAX_ENTRIES)
    g_ptr_array_add (names, g_strdup (n));
  g_ptr_array_sort (names, cmp_name);
  return names;
}

static char *
link_basename (const char *path)
{
  g_autofree char *target = g_file_read_link (path, NULL);
  return target ? g_path_get_basename (target) : NULL;
}

/* GRUB_CMDLINE_LINUX_DEFAULT="..." → its value (last assignment wins, as in
 * the shell that reads it). */
static char *
grub_value (const char *text)
{
  char *value = NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      while (*l == ' ' || *l == '\t')
        l++;
      if (!g_str_has_prefix (l, "GRUB_CMDLINE_LINUX_DEFAULT="))
        continue;
      const char *v = l + strlen ("GRUB_CMDLINE_LINUX_DEFAULT=");
      g_autofree char *copy = g_strdup (v);
      g_strstrip (copy);
      gsize n = strlen (copy);
      if (n >= 2 && (copy[0] == '"' || copy[0] == '\'') && copy[n - 1] == copy[0])
        {
          copy[n - 1] = '\0';
          memmove (copy, copy + 1, n - 1);
        }
      g_free (value);
      value = g_steal_pointer (&copy);
    }
  return value;
}

static gint64
mtime_of (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? (gint64) st.st_mtime : 0;
}

static void
read_modprobe (PdDoctorHost *h)
{
  g_autofree char *dir = host_path (h, "/etc/modprobe.d");
  g_autoptr (GPtrArray) names = list_dir (dir);
  for (guint i = 0; names && i < names->len; i++)
    {
      const char *n = names->pdata[i];
      if (!g_str_has_suffix (n, ".conf"))
        continue;
      g_autofree char *p = g_build_filename (dir, n, NULL);
      g_autofree char *text = read_bounded (p, NULL);
      if (text == NULL)
        continue;
      gint64 m = mtime_of (p);
      if (m > h->newest_conf_mtime)
        {
          h->newest_conf_mtime = m;
          g_free (h->newest_conf_path);
          h->newest_conf_path = g_strconcat ("/etc/modprobe.d/", n, NULL);
        }
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (guint j = 0; lines[j]; j++)
        {
          g_auto (GStrv) w = g_strsplit_set (g_strstrip (lines[j]), " \t", -1);
          guint nw = g_strv_length (w);
          if (nw >= 2 && g_str_equal (w[0], "blacklist") && *w[1])
            g_ptr_array_add (h->blacklist, g_strdup_printf ("%s\t/etc/modprobe.d/%s", w[1], n));
          if (nw >= 3 && g_str_equal (w[0], "options")
              && (g_str_equal (w[1], "vfio-pci") || g_str_equal (w[1], "vfio_pci")))
            for (guint k = 2; k < nw; k++)
              if (g_str_has_prefix (w[k], "ids=") && h->vfio_ids == NULL)
                {
                  h->vfio_ids = g_strdup (w[k] + 4);
                  h->vfio_ids_file = g_strconcat ("/etc/modprobe.d/", n, NULL);
                }
        }
    }
  g_autofree char *mp = host_path (h, "/etc/modules");
  g_autofree char *mods = read_bounded (mp, NULL);
  if (mods)
    {
      h->has_modules = TRUE;
      gint64 m = mtime_of (mp);
      if (m > h->newest_conf_mtime)
        {
          h->newest_conf_mtime = m;
          g_free (h->newest_conf_path);
          h->newest_conf_path = g_strdup ("/etc/modules");
        }
      g_auto (GStrv) lines = g_strsplit (mods, "\n", -1);
      for (guint j = 0; lines[j]; j++)
        {
          char *l = g_strstrip (lines[j]);
          char *hash = strchr (l, '#');
          if (hash)
            *hash = '\0';
          g_strstrip (l);
          if (*l)
            {
              g_auto (GStrv) w = g_strsplit_set (l, " \t", 2);
              g_ptr_array_add (h->modules, g_strdup (w[0]));
            }
        }
    }
}

static void
read_pci (PdDoctorHost *h)
{
  g_autofree char *dir = host_path (h, "/sys/bus/pci/devices");
  g_autoptr (GPtrArray) names = list_dir (dir);
  h->have_pci = names != NULL && names->len > 0;
  for (guint i = 0; names && i < names->len; i++)
    {
      g_autofree char *d = g_build_filename (dir, names->pdata[i], NULL);
      PdDoctorPci *p = g_new0 (PdDoctorPci, 1);
      p->addr = g_strdup (names->pdata[i]);
      g_autofree char *v = read_attr (d, "vendor"), *dv = read_attr (d, "device"),
                      *c = read_attr (d, "class");
      p->vendor = parse_hex (v);
      p->device = parse_hex (dv);
      p->class_code = parse_hex (c);
      g_autofree char *drv = g_build_filename (d, "driver", NULL);
      p->driver = link_basename (drv);
      g_autofree char *grp = g_build_filename (d, "iommu_group", NULL);
      g_autofree char *gname = link_basename (grp);
      guint64 g = 0;
      p->group
          = gname && g_ascii_string_to_unsigned (gname, 10, 0, 1u << 20, &g, NULL) ? (int) g : -1;
      g_ptr_array_add (h->pci, p);
    }
}

static guint
parse_speed (const char *s)
{
  return s ? (guint) g_ascii_strtoull (s, NULL, 10) : 0;
}

static void
read_usb (PdDoctorHost *h)
{
  g_autofree char *dir = host_path (h, "/sys/bus/usb/devices");
  g_autoptr (GPtrArray) names = list_dir (dir);
  h->have_usb = names != NULL;
  for (guint i = 0; names && i < names->len; i++)
    {
      const char *n = names->pdata[i];
      /* Devices only: "B-P[.P...]"; no root hubs (usbB), no interfaces (":"). */
      if (!g_ascii_isdigit (n[0]) || strchr (n, ':') || !strchr (n, '-'))
        continue;
      g_autofree char *d = g_build_filename (dir, n, NULL);
      PdDoctorUsb *u = g_new0 (PdDoctorUsb, 1);
      u->name = g_strdup (n);
      g_autofree char *v = read_attr (d, "idVendor"), *p = read_attr (d, "idProduct"),
                      *s = read_attr (d, "speed"), *c = read_attr (d, "bDeviceClass");
      u->vendor = parse_hex (v);
      u->product = parse_hex (p);
      u->speed_mbit = parse_speed (s);
      u->is_hub = c && g_str_equal (c, "09");
      /* The host port: the root hub's port the chain starts at. */
      guint bus = (guint) g_ascii_strtoull (n, NULL, 10);
      const char *dash = strchr (n, '-');
      guint port = (guint) g_ascii_strtoull (dash + 1, NULL, 10);
      g_autofree char *root_dir = g_strdup_printf ("%s/usb%u", dir, bus);
      g_autofree char *rs = read_attr (root_dir, "speed");
      u->root_speed = parse_speed (rs);
      g_autofree char *peer
          = g_strdup_printf ("%s/%u-0:1.0/usb%u-port%u/peer", root_dir, bus, bus, port);
      u->port_usb3 = u->root_speed >= 5000 || g_file_test (peer, G_FILE_TEST_EXISTS);
      g_ptr_array_add (h->usb, u);
    }
}

/* Absolute paths of shell scripts named in @text ("/root/x.sh"), read into
 * h->scripts once each. */
static void
read_named_scripts (PdDoctorHost *h, const char *text)
{
  g_auto (GStrv) words = g_strsplit_set (text, " \t\n;|&\"'()", -1);
  for (guint i = 0; words[i]; i++)
    {
      const char *w = words[i];
      if (w[0] != '/' || !g_str_has_suffix (w, ".sh") || strstr (w, "..")
          || g_hash_table_contains (h->scripts, w) || g_hash_table_size (h->scripts) >= 16)
        continue;
      char *t = read_host (h, w);
      if (t)
        g_hash_table_insert (h->scripts, g_strdup (w), t);
    }
}

static void
read_crontab (PdDoctorHost *h)
{
  g_autofree char *text = read_host (h, "/var/spool/cron/crontabs/root");
  if (text == NULL)
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *l = g_strstrip (lines[i]);
      if (g_str_has_prefix (l, "@reboot"))
        {
          const char *cmd = l + strlen ("@reboot");
          while (*cmd == ' ' || *cmd == '\t')
            cmd++;
          g_ptr_array_add (h->reboot_jobs, g_strdup (cmd));
          read_named_scripts (h, cmd);
        }
    }
}

PdDoctorHost *
pd_doctor_read_host (const char *root)
{
  PdDoctorHost *h = pd_doctor_host_new (root);
  g_autofree char *pve = host_path (h, "/etc/pve");
  h->is_proxmox = g_file_test (pve, G_FILE_TEST_IS_DIR);

  g_autofree char *cp = host_path (h, "/proc/cmdline");
  h->cmdline = read_bounded (cp, &h->cmdline_error);
  if (h->cmdline)
    g_strstrip (h->cmdline);

  g_autofree char *grub = read_host (h, "/etc/default/grub");
  h->has_grub = grub != NULL;
  if (grub)
    h->grub_cmdline = grub_value (grub);
  g_autofree char *uuids = host_path (h, "/etc/kernel/proxmox-boot-uuids");
  h->proxmox_boot = g_file_test (uuids, G_FILE_TEST_EXISTS);
  h->kernel_cmdline = read_host (h, "/etc/kernel/cmdline");
  if (h->kernel_cmdline)
    g_strstrip (h->kernel_cmdline);

  g_autofree char *ci = host_path (h, "/sys/class/iommu");
  g_autoptr (GPtrArray) units = list_dir (ci);
  for (guint i = 0; units && i < units->len; i++)
    g_ptr_array_add (h->iommu_units, g_strdup (units->pdata[i]));
  g_autofree char *gd = host_path (h, "/sys/kernel/iommu_groups");
  g_autoptr (GPtrArray) groups = list_dir (gd);
  h->n_groups = groups ? groups->len : 0;

  read_pci (h);
  read_modprobe (h);

  h->osrelease = read_host (h, "/proc/sys/kernel/osrelease");
  if (h->osrelease)
    {
      g_strstrip (h->osrelease);
      h->initrd_path = g_strconcat ("/boot/initrd.img-", h->osrelease, NULL);
      g_autofree char *ip = host_path (h, h->initrd_path);
      h->initrd_mtime = mtime_of (ip);
    }
  read_crontab (h);
  read_usb (h);
  return h;
}

/* storage.cfg: "TYPE: ID" then indented "key value" lines → the path of a
 * dir-like storage @id (NULL if it has none). Proxmox's default "local" is
 * /var/lib/vz when storage.cfg does not define it. */
static char *
storage_path (PdDoctorHost *h, const char *id, char **why)
{
  g_autofree char *cfg = read_host (h, "/etc/pve/storage.cfg");
  if (cfg == NULL)
    {
      if (g_str_equal (id, "local"))
        return g_strdup ("/var/lib/vz");
      *why = g_strdup ("/etc/pve/storage.cfg could not be read");
      return NULL;
    }
  g_auto (GStrv) lines = g_strsplit (cfg, "\n", -1);
  gboolean in = FALSE, found = FALSE;
  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      if (*l && *l != ' ' && *l != '\t' && *l != '#')
        {
          const char *colon = strchr (l, ':');
          g_autofree char *sid = colon ? g_strstrip (g_strdup (colon + 1)) : NULL;
          in = sid && g_str_equal (sid, id);
          found |= in;
          continue;
        }
      g_autofree char *t = g_strstrip (g_strdup (l));
      if (in && g_str_has_prefix (t, "path "))
        return g_strstrip (g_strdup (t + 5));
    }
  *why = found ? g_strdup_printf (
             _ ("storage “%s” has no path (snippets need a directory storage)"), id)
               : g_strdup_printf (_ ("/etc/pve/storage.cfg defines no storage “%s”"), id);
  return NULL;
}

void
pd_doctor_read_vm (PdDoctorHost *h, PdDoctorVm *vm)
{
  if (vm->config == NULL)
    return;
  g_autoptr (GHashTable) cfg = pd_doctor_parse_config (vm->config);
  const char *hook = g_hash_table_lookup (cfg, "hookscript");
  if (hook)
    {
      /* STORAGE:snippets/FILE */
      const char *colon = strchr (hook, ':');
      if (colon == NULL || !g_str_has_prefix (colon + 1, "snippets/") || strstr (hook, ".."))
        vm->hook_error = g_strdup_printf (_ ("“%s” is not a STORAGE:snippets/FILE volume"), hook);
      else
        {
          g_autofree char *sid = g_strndup (hook, (gsize) (colon - hook));
          g_autofree char *base = storage_path (h, sid, &vm->hook_error);
          if (base)
            {
              vm->hook_path = g_strconcat (base, "/", colon + 1, NULL);
              g_autofree char *p = host_path (h, vm->hook_path);
              struct stat st;
              vm->hook_exists = stat (p, &st) == 0 && S_ISREG (st.st_mode);
              vm->hook_executable = vm->hook_exists && (st.st_mode & S_IXUSR);
              if (vm->hook_exists)
                vm->hook_text = read_bounded (p, NULL);
              if (vm->hook_text)
                read_named_scripts (h, vm->hook_text);
            }
        }
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, cfg);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      if (!g_str_has_prefix (k, "hostpci"))
        continue;
      g_auto (GStrv) opts = g_strsplit (v, ",", -1);
      for (guint i = 0; opts[i]; i++)
        if (g_str_has_prefix (opts[i], "romfile="))
          {
            const char *rom = opts[i] + 8;
            /* Proxmox looks relative names up in /usr/share/kvm. */
            g_autofree char *hp
                = rom[0] == '/' ? g_strdup (rom) : g_strconcat ("/usr/share/kvm/", rom, NULL);
            g_autofree char *p = host_path (h, hp);
            if (strstr (rom, "..") || !g_file_test (p, G_FILE_TEST_IS_REGULAR))
              g_ptr_array_add (vm->missing_roms, g_strdup (hp));
          }
    }
}

static gint
cmp_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

GArray *
pd_doctor_list_vms (const char *root, gboolean candidates, guint *n_configs)
{
  guint seen = 0;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *dir = g_strconcat (root, "/etc/pve/qemu-server", NULL);
  g_autoptr (GPtrArray) names = list_dir (dir);
  for (guint i = 0; names && i < names->len; i++)
    {
      const char *n = names->pdata[i];
      guint64 id;
      g_autofree char *stem = g_str_has_suffix (n, ".conf") ? g_strndup (n, strlen (n) - 5) : NULL;
      if (stem && g_ascii_string_to_unsigned (stem, 10, 100, 999999999, &id, NULL))
        {
          seen++;
          g_autofree char *p = g_build_filename (dir, n, NULL);
          g_autofree char *text = candidates ? read_bounded (p, NULL) : NULL;
          guint u = (guint) id;
          if (!candidates || text == NULL || pd_doctor_vm_is_candidate (text))
            g_array_append_val (ids, u);
        }
    }
  g_array_sort (ids, cmp_uint);
  if (n_configs)
    *n_configs = seen;
  return ids;
}

GHashTable *
pd_doctor_list_channel_vms (const char *root)
{
  GHashTable *found = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree char *dir = g_strconcat (root, "/etc/pve/qemu-server", NULL);
  g_autoptr (GArray) ids = pd_doctor_list_vms (root, FALSE, NULL);
  for (guint i = 0; i < ids->len; i++)
    {
      guint id = g_array_index (ids, guint, i);
      g_autofree char *p = g_strdup_printf ("%s/%u.conf", dir, id);
      g_autofree char *text = read_bounded (p, NULL);
      PdChannelConfig where = pd_doctor_config_channel (text);
      if (where != PD_CHANNEL_NONE)
        g_hash_table_insert (found, GUINT_TO_POINTER (id), GINT_TO_POINTER (where));
    }
  return found;
}
