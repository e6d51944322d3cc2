/* fake-vaprobe.c - stands in for passdesk-vaprobe in runner tests.
 *
 * FAKE_VAPROBE_MODE picks what it does:
 *   hang     forks a grandchild, writes "PID GRANDCHILD_PID" to
 *            $FAKE_VAPROBE_PIDFILE, then both sleep forever
 *   segv     dies from SIGSEGV          abort   dies from SIGABRT
 *   exit     prints to stderr, exits $FAKE_VAPROBE_EXIT (default 7)
 *   garbage  prints text that is not a report, exits 0
 *   flood    prints 256 KiB without end of report, then sleeps
 *   json     prints $FAKE_VAPROBE_JSON (a file), exits $FAKE_VAPROBE_EXIT (default 0)
 * Its argv is written to $FAKE_VAPROBE_ARGS when set, one per line, then
 * LIBVA_DRIVER_NAME=... when that is in its environment.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  if (f == NULL)
    exit (90);
  fputs (text, f);
  fclose (f);
}

static void
sleep_forever (void)
{
  for (;;)
    pause ();
}

int
main (int argc, char **argv)
{
  const char *mode = getenv ("FAKE_VAPROBE_MODE");
  const char *args_file = getenv ("FAKE_VAPROBE_ARGS");
  const char *exit_env = getenv ("FAKE_VAPROBE_EXIT");
  if (mode == NULL)
    return 91;
  if (args_file != NULL)
    {
      FILE *f = fopen (args_file, "w");
      if (f == NULL)
        return 92;
      for (int i = 0; i < argc; i++)
        fprintf (f, "%s\n", argv[i]);
      const char *drv = getenv ("LIBVA_DRIVER_NAME");
      if (drv != NULL)
        fprintf (f, "LIBVA_DRIVER_NAME=%s\n", drv);
      fclose (f);
    }

  if (strcmp (mode, "hang") == 0)
    {
      pid_t child = fork ();
      if (child < 0)
        return 93;
      if (child == 0)
        sleep_forever ();
      const char *pidfile = getenv ("FAKE_VAPROBE_PIDFILE");
      if (pidfile != NULL)
        {
          char buf[64];
          snprintf (buf, sizeof buf, "%d %d\n", (int) getpid (), (int) child);
          /* Written then renamed, so the reader never sees half a line. */
          char tmp[4096];
          snprintf (tmp, sizeof tmp, "%s.tmp", pidfile);
          write_file (tmp, buf);
          rename (tmp, pidfile);
        }
      sleep_forever ();
    }
  if (strcmp (mode, "segv") == 0)
    {
      signal (SIGSEGV, SIG_DFL);
      raise (SIGSEGV);
      return 94;
    }
  if (strcmp (mode, "abort") == 0)
    {
      signal (SIGABRT, SIG_DFL);
      abort ();
    }
  if (strcmp (mode, "exit") == 0)
    {
      fputs ("libva error: /usr/lib/x86_64-linux-gnu/dri/iHD_drv_video.so init failed\n"
             "fake: the driver exploded\n",
             stderr);
      return exit_env ? atoi (exit_env) : 7;
    }
  if (strcmp (mode, "garbage") == 0)
    {
      fputs ("libva info: VA-API version 1.17.0\n{\"probe\": \"passdesk-vaprobe\", \"status\": ",
             stdout);
      return 0;
    }
  if (strcmp (mode, "flood") == 0)
    {
      static char block[4096];
      memset (block, 'x', sizeof block);
      for (int i = 0; i < 64; i++)
        if (fwrite (block, 1, sizeof block, stdout) != sizeof block)
          return 95;
      fflush (stdout);
      sleep_forever ();
    }
  if (strcmp (mode, "json") == 0)
    {
      const char *path = getenv ("FAKE_VAPROBE_JSON");
      FILE *f = path ? fopen (path, "r") : NULL;
      if (f == NULL)
        return 96;
      char buf[4096];
      size_t n;
      while ((n = fread (buf, 1, sizeof buf, f)) > 0)
        fwrite (buf, 1, n, stdout);
      fclose (f);
      return exit_env ? atoi (exit_env) : 0;
    }
  return 97;
}
