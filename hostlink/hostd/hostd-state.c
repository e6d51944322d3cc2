/* hostd-state.c - the persistent state file. */
#define G_LOG_DOMAIN "passdesk-hostd"

#include "hostd-state.h"
#include "pd-i18n.h"

#include "hostd-file.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define DAY_US ((gint64) 86400 * G_USEC_PER_SEC)
#define HISTORY_MAX 1000

static void
vm_state_free (PdVmState *vm)
{
  g_array_unref (vm->history);
  pd_cycle_result_free (vm->last);
  g_free (vm->guest_name);
  g_free (vm);
}

static PdHostdState *
state_new (const char *state_dir)
{
  PdHostdState *s = g_new0 (PdHostdState, 1);
  s->path = g_build_filename (state_dir, "hostd-state", NULL);
  s->vms
      = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) vm_state_free);
  return s;
}

void
pd_hostd_state_free (PdHostdState *s)
{
  if (s == NULL)
    return;
  g_free (s->path);
  g_hash_table_unref (s->vms);
  g_free (s);
}

PdVmState *
pd_hostd_state_vm (PdHostdState *s, guint vmid)
{
  PdVmState *vm = g_hash_table_lookup (s->vms, GUINT_TO_POINTER (vmid));
  if (vm == NULL)
    {
      vm = g_new0 (PdVmState, 1);
      vm->vmid = vmid;
      vm->history = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (s->vms, GUINT_TO_POINTER (vmid), vm);
    }
  return vm;
}

static gint
cmp_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

GArray *
pd_hostd_state_vmids (PdHostdState *s)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, s->vms);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      guint id = GPOINTER_TO_UINT (key);
      g_array_append_val (ids, id);
    }
  g_array_sort (ids, cmp_uint);
  return ids;
}

void
pd_vm_state_set_result (PdVmState *vm, const PdCycleResult *result)
{
  pd_cycle_result_free (vm->last);
  vm->last = pd_cycle_result_copy (result);
}

static void
prune (PdVmState *vm, gint64 now)
{
  guint drop = 0;
  while (drop < vm->history->len && g_array_index (vm->history, gint64, drop) <= now - DAY_US)
    drop++;
  if (drop)
    g_array_remove_range (vm->history, 0, drop);
}

static guint
secs_ceil (gint64 us)
{
  return (guint) MAX (1, (us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

void
pd_vm_state_rate_budget (PdVmState *vm, const PdVmPolicy *p, gint64 now, guint *left,
                         guint *next_in_s)
{
  prune (vm, now);
  guint n = vm->history->len;
  gint64 wait_us = 0;
  if (n > 0)
    {
      gint64 last = g_array_index (vm->history, gint64, n - 1);
      wait_us = MAX (wait_us, last + (gint64) p->min_interval * G_USEC_PER_SEC - now);
    }
  if (n >= p->max_per_day)
    {
      /* The oldest cycle that must leave the window for one more to fit. */
      gint64 oldest = g_array_index (vm->history, gint64, n - p->max_per_day);
      wait_us = MAX (wait_us, oldest + DAY_US - now);
    }
  if (left)
    *left = n >= p->max_per_day ? 0 : p->max_per_day - n;
  if (next_in_s)
    *next_in_s = wait_us > 0 ? secs_ceil (wait_us) : 0;
}

void
pd_vm_state_rate_figures (PdVmState *vm, const PdVmPolicy *p, gint64 now, guint *rate_left,
                          guint *day_left, guint *next_in_s)
{
  guint left = 0, next = 0;
  pd_vm_state_rate_budget (vm, p, now, &left, &next);
  /* At most one cycle per min-interval (rate-max=1): allowed now is 0 or 1. */
  *rate_left = next == 0 && left > 0 ? 1 : 0;
  *day_left = left;
  *next_in_s = next;
}

gboolean
pd_vm_state_rate_allows (PdVmState *vm, const PdVmPolicy *p, gint64 now, guint *retry_after_s)
{
  guint next;
  pd_vm_state_rate_budget (vm, p, now, NULL, &next);
  if (retry_after_s)
    *retry_after_s = next;
  return next == 0;
}

void
pd_vm_state_note_cycle (PdVmState *vm, gint64 now)
{
  prune (vm, now);
  if (vm->history->len >= HISTORY_MAX)
    g_array_remove_index (vm->history, 0);
  g_array_append_val (vm->history, now);
}

/* ---- file ---- */

static gboolean
parse_into (PdHostdState *s, const char *data, gsize len, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, error))
    return FALSE;
  s->daemon_pid = g_key_file_get_int64 (kf, "hostd", "pid", NULL);
  s->daemon_started = g_key_file_get_int64 (kf, "hostd", "started", NULL);
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      const char *g = groups[i];
      guint vmid;
      if (strcmp (g, "hostd") == 0)
        continue;
      if (!g_str_has_prefix (g, "vm ") || !pd_vmid_parse (g + 3, &vmid))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                       _ ("unexpected group [%s]"), g);
          return FALSE;
        }
      PdVmState *vm = pd_hostd_state_vm (s, vmid);
      gsize n = 0;
      g_auto (GStrv) hist = g_key_file_get_string_list (kf, g, "history", &n, NULL);
      for (gsize k = 0; hist && k < n && k < HISTORY_MAX; k++)
        {
          gint64 t = g_ascii_strtoll (hist[k], NULL, 10);
          if (t > 0)
            g_array_append_val (vm->history, t);
        }

      g_autofree char *phase = g_key_file_get_string (kf, g, "cycle-phase", NULL);
      if (phase && pd_cycle_phase_from_string (phase, &vm->phase))
        {
          vm->cycle_running = TRUE;
          vm->cycle_started = g_key_file_get_int64 (kf, g, "cycle-started", NULL);
          vm->phase_since = g_key_file_get_int64 (kf, g, "cycle-phase-since", NULL);
          vm->cool_off
              = (guint) CLAMP (g_key_file_get_int64 (kf, g, "cycle-cool-off", NULL), 0, 3600);
          vm->request = (guint32) CLAMP (g_key_file_get_int64 (kf, g, "cycle-request", NULL), 0,
                                         G_MAXUINT32);
          vm->forced = g_key_file_get_boolean (kf, g, "cycle-forced", NULL);
        }
      g_autofree char *outcome = g_key_file_get_string (kf, g, "last-outcome", NULL);
      if (outcome)
        {
          PdCycleResult r = { .vmid = vmid };
          r.ok = g_strcmp0 (outcome, "ok") == 0;
          g_autofree char *step = g_key_file_get_string (kf, g, "last-step", NULL);
          g_autofree char *msg = g_key_file_get_string (kf, g, "last-message", NULL);
          r.step = r.ok ? NULL : step;
          r.message = msg ? msg : (char *) "";
          r.started = g_key_file_get_int64 (kf, g, "last-started", NULL);
          r.duration_ms = g_key_file_get_int64 (kf, g, "last-duration-ms", NULL);
          /* The message's recipe, when it still makes the message. */
          g_autofree char *fmt = g_key_file_get_string (kf, g, "last-message-format", NULL);
          g_auto (GStrv) args = g_key_file_get_string_list (kf, g, "last-message-args", NULL, NULL);
          g_autoptr (PdMsg) m
              = fmt && args ? pd_msg_new_from_strings (fmt, (const char *const *) args) : NULL;
          if (m && g_strcmp0 (m->english, r.message) == 0)
            r.message_msg = m;
          pd_vm_state_set_result (vm, &r);
        }
      vm->serial = (guint32) CLAMP (g_key_file_get_int64 (kf, g, "serial", NULL), 0, G_MAXUINT32);
      if (vm->last)
        {
          gint64 id = g_key_file_get_int64 (kf, g, "last-id", NULL);
          /* A file from before serial numbers: its result becomes number 1. */
          vm->last->serial = (guint32) CLAMP (id, 0, G_MAXUINT32);
          if (vm->last->serial == 0)
            vm->last->serial = MAX (vm->serial, 1);
          vm->serial = MAX (vm->serial, vm->last->serial);
        }
      /* A cycle in flight from before serial numbers gets the next one. */
      if (vm->cycle_running && !g_key_file_has_key (kf, g, "serial", NULL))
        vm->serial++;
      vm->connected = g_key_file_get_boolean (kf, g, "link-connected", NULL);
      vm->link_since = g_key_file_get_int64 (kf, g, "link-since", NULL);
      vm->guest_name = g_key_file_get_string (kf, g, "guest-name", NULL);
      g_autofree char *reboot = g_key_file_get_string (kf, g, "guest-reboot-cold", NULL);
      vm->guest_reboot = g_strcmp0 (reboot, "yes") == 0 ? 2 : g_strcmp0 (reboot, "no") == 0 ? 1 : 0;
    }
  return TRUE;
}

static PdHostdState *
load (const char *state_dir, gboolean repair, GError **error)
{
  g_autoptr (PdHostdState) s = state_new (state_dir);
  if (repair && g_mkdir_with_parents (state_dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                   _ ("Cannot create the state directory %s: %s. Check state-dir in the "
                      "configuration."),
                   state_dir, g_strerror (e));
      return NULL;
    }
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  /* Bounded, regular files only: a FIFO, a device or a symlink to one is
   * refused without reading (hostd-file.h) and handled like a corrupt file. */
  if (!pd_file_read_bounded (s->path, 4 * 1024 * 1024, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&s);
      if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_INVAL)
          && !g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_FAILED))
        {
          g_set_error (error, G_FILE_ERROR, local->code,
                       _ ("Cannot read the state file: %s. Check the permissions of the state "
                          "directory."),
                       local->message);
          return NULL;
        }
    }
  else
    parse_into (s, data, len, &local);
  if (local)
    {
      g_autofree char *aside = g_strconcat (s->path, ".corrupt", NULL);
      if (!repair)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                       _ ("The state file %s cannot be used (%s). passdesk-hostd keeps it aside as "
                          "%s and starts empty when it next starts."),
                       s->path, local->message, aside);
          return NULL;
        }
      g_warning ("The state file %s cannot be used (%s); it is kept as %s and hostd starts "
                 "with an empty state.",
                 s->path, local->message, aside);
      if (g_rename (s->path, aside) != 0)
        {
          int e = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                       _ ("Cannot move the unusable state file %s aside: %s. Remove it by hand."),
                       s->path, g_strerror (e));
          return NULL;
        }
      g_hash_table_remove_all (s->vms);
    }
  return g_steal_pointer (&s);
}

PdHostdState *
pd_hostd_state_load (const char *state_dir, GError **error)
{
  return load (state_dir, TRUE, error);
}

PdHostdState *
pd_hostd_state_peek (const char *state_dir, GError **error)
{
  return load (state_dir, FALSE, error);
}

gboolean
pd_hostd_state_save (PdHostdState *s, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_key_file_set_int64 (kf, "hostd", "pid", s->daemon_pid);
  if (s->daemon_started)
    g_key_file_set_int64 (kf, "hostd", "started", s->daemon_started);
  g_autoptr (GArray) ids = pd_hostd_state_vmids (s);
  for (guint i = 0; i < ids->len; i++)
    {
      guint vmid = g_array_index (ids, guint, i);
      PdVmState *vm = g_hash_table_lookup (s->vms, GUINT_TO_POINTER (vmid));
      g_autofree char *g = g_strdup_printf ("vm %u", vmid);
      if (vm->history->len)
        {
          g_autoptr (GPtrArray) hist = g_ptr_array_new_with_free_func (g_free);
          for (guint k = 0; k < vm->history->len; k++)
            g_ptr_array_add (hist, g_strdup_printf ("%" G_GINT64_FORMAT,
                                                    g_array_index (vm->history, gint64, k)));
          g_key_file_set_string_list (kf, g, "history", (const char *const *) hist->pdata,
                                      hist->len);
        }
      if (vm->cycle_running)
        {
          g_key_file_set_string (kf, g, "cycle-phase", pd_cycle_phase_to_string (vm->phase));
          g_key_file_set_int64 (kf, g, "cycle-started", vm->cycle_started);
          g_key_file_set_int64 (kf, g, "cycle-phase-since", vm->phase_since);
          g_key_file_set_int64 (kf, g, "cycle-cool-off", vm->cool_off);
          if (vm->request)
            g_key_file_set_int64 (kf, g, "cycle-request", vm->request);
          if (vm->forced)
            g_key_file_set_boolean (kf, g, "cycle-forced", TRUE);
        }
      if (vm->serial)
        g_key_file_set_int64 (kf, g, "serial", vm->serial);
      if (vm->last)
        {
          g_key_file_set_string (kf, g, "last-outcome", vm->last->ok ? "ok" : "failed");
          if (vm->last->serial)
            g_key_file_set_int64 (kf, g, "last-id", vm->last->serial);
          if (vm->last->step)
            g_key_file_set_string (kf, g, "last-step", vm->last->step);
          g_key_file_set_string (kf, g, "last-message", vm->last->message);
          const PdMsg *m = vm->last->message_msg;
          if (m && m->args && m->args[0] && !m->msgid_plural)
            {
              g_key_file_set_string (kf, g, "last-message-format", m->msgid);
              g_key_file_set_string_list (kf, g, "last-message-args", (const char *const *) m->args,
                                          g_strv_length (m->args));
            }
          g_key_file_set_int64 (kf, g, "last-started", vm->last->started);
          g_key_file_set_int64 (kf, g, "last-duration-ms", vm->last->duration_ms);
        }
      g_key_file_set_boolean (kf, g, "link-connected", vm->connected);
      if (vm->link_since)
        g_key_file_set_int64 (kf, g, "link-since", vm->link_since);
      if (vm->guest_name)
        g_key_file_set_string (kf, g, "guest-name", vm->guest_name);
      if (vm->guest_reboot)
        g_key_file_set_string (kf, g, "guest-reboot-cold", vm->guest_reboot == 2 ? "yes" : "no");
    }
  gsize len;
  g_autofree char *data = g_key_file_to_data (kf, &len, NULL);
  g_autoptr (GError) local = NULL;
  /* Atomic (temp file + rename), no fsync: what must survive is a hostd
   * crash or restart, which the page cache does; a power loss takes the VM
   * down with it and makes a cycle in flight moot. An fsync here would sit
   * between the guest's request and `qm shutdown`. */
  if (!g_file_set_contents_full (s->path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &local))
    {
      g_set_error (error, G_FILE_ERROR, local->code,
                   _ ("Cannot write the state file %s: %s. Check the state directory's space and "
                      "permissions."),
                   s->path, local->message);
      return FALSE;
    }
  return TRUE;
}
