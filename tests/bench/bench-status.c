/* bench-status.c - wall time and peak RSS of `passdesk status --no-vaprobe`
 * on the Esprimo fixture tree, beside `lspci -nnk` (pciutils: enumerates the
 * same PCI devices and their drivers) or, when that is missing, `true` as the
 * floor of starting a process at all. Goals are printed, not asserted.
 *
 * Each run is a fork/exec; wait4() gives the child's own peak RSS.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 200
#define GOAL_MS 50.0
#define GOAL_MIB 10.0

typedef struct
{
  double median_ms;
  double p90_ms;
  double max_rss_mib;
} Figures;

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Runs @argv @runs times with stdout/stderr to /dev/null. FALSE when a run
 * could not start, was killed, or exited with a status outside @ok_max. */
static gboolean
measure (char *const *argv, int runs, int ok_max, Figures *out)
{
  g_autofree double *ms = g_new (double, runs);
  long max_rss_kib = 0;
  for (int i = 0; i < runs; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      pid_t pid = fork ();
      if (pid < 0)
        return FALSE;
      if (pid == 0)
        {
          int null = open ("/dev/null", O_WRONLY);
          dup2 (null, STDOUT_FILENO);
          dup2 (null, STDERR_FILENO);
          execvp (argv[0], argv);
          _exit (127);
        }
      int status;
      struct rusage ru;
      while (wait4 (pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
          return FALSE;
      ms[i] = (double) (g_get_monotonic_time () - t0) / 1000.0;
      if (!WIFEXITED (status) || WEXITSTATUS (status) > ok_max)
        {
          fprintf (stderr, "%s exited abnormally (status 0x%x)\n", argv[0], (unsigned) status);
          return FALSE;
        }
      max_rss_kib = MAX (max_rss_kib, ru.ru_maxrss);
    }
  qsort (ms, (size_t) runs, sizeof *ms, compare_doubles);
  out->median_ms = ms[runs / 2];
  out->p90_ms = ms[runs * 9 / 10];
  out->max_rss_mib = (double) max_rss_kib / 1024.0;
  return TRUE;
}

static void
print_row (const char *label, const Figures *f)
{
  printf ("%-44s median %7.2f ms  p90 %7.2f ms  peak RSS %6.2f MiB\n", label, f->median_ms,
          f->p90_ms, f->max_rss_mib);
}

int
main (void)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  const char *fixtures = g_getenv ("PASSDESK_TEST_FIXTURES");
  if (builddir == NULL || fixtures == NULL)
    {
      fprintf (stderr, "bench-status: run it through `meson test --benchmark` "
                       "(PASSDESK_BUILDDIR and PASSDESK_TEST_FIXTURES are unset)\n");
      return 1;
    }
  g_autofree char *exe = g_build_filename (builddir, "agent", "cli", "passdesk", NULL);
  g_autofree char *root = g_build_filename (fixtures, "esprimo", NULL);
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  /* The CLI asks the agent on the system bus first; there is none here. */
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent", TRUE);

  char *status_argv[] = { exe, "status", "--no-vaprobe", NULL };
  g_autofree char *lspci = g_find_program_in_path ("lspci");
  char *lspci_argv[] = { lspci, "-nnk", NULL };
  char *true_argv[] = { "true", NULL };

  Figures status, peer;
  /* Warm the page cache for both before timing. */
  if (!measure (status_argv, 5, 1, &status))
    return 1;
  /* passdesk exits 1 here: the skipped VA probe leaves vaapi unknown. */
  if (!measure (status_argv, RUNS, 1, &status))
    return 1;
  const char *peer_label;
  if (lspci)
    {
      peer_label = "peer: lspci -nnk (this machine's real /sys)";
      measure (lspci_argv, 5, 255, &peer);
      if (!measure (lspci_argv, RUNS, 255, &peer))
        return 1;
    }
  else
    {
      peer_label = "peer: true (floor; lspci not installed)";
      if (!measure (true_argv, RUNS, 0, &peer))
        return 1;
    }

  printf ("passdesk status --no-vaprobe on tests/fixtures/esprimo, %d runs each\n", RUNS);
  print_row ("passdesk status --no-vaprobe", &status);
  print_row (peer_label, &peer);
  printf ("goal: under %.0f ms and %.0f MiB: %s (time), %s (memory)\n", GOAL_MS, GOAL_MIB,
          status.median_ms < GOAL_MS ? "met" : "NOT met",
          status.max_rss_mib < GOAL_MIB ? "met" : "NOT met");
  return 0;
}
