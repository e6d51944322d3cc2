/* bench-hostd-qm-stamp.c - stands in for qm in bench-hostd: appends
 * "<unix time with ns> <argv...>" to $FAKE_QM_DIR/stamps the moment it runs,
 * then execs tests/fakes/fake-qm ($FAKE_QM_REAL) with the same arguments. A C
 * program, so the stamp measures hostd's spawn latency, not a Python start. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  const char *dir = getenv ("FAKE_QM_DIR");
  const char *real = getenv ("FAKE_QM_REAL");
  if (dir == NULL || real == NULL)
    {
      fprintf (stderr, "bench-hostd-qm-stamp: FAKE_QM_DIR and FAKE_QM_REAL must be set\n");
      return 2;
    }
  char path[4096];
  snprintf (path, sizeof path, "%s/stamps", dir);
  char line[1024];
  int n = snprintf (line, sizeof line, "%lld.%09ld", (long long) ts.tv_sec, ts.tv_nsec);
  for (int i = 1; i < argc && n < (int) sizeof line - 2; i++)
    n += snprintf (line + n, sizeof line - n, " %s", argv[i]);
  if (n > (int) sizeof line - 2)
    n = (int) sizeof line - 2;
  line[n++] = '\n';
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd >= 0)
    {
      if (write (fd, line, (size_t) n) < 0)
        perror ("bench-hostd-qm-stamp: write");
      close (fd);
    }
  argv[0] = (char *) real;
  execv (real, argv);
  perror ("bench-hostd-qm-stamp: exec");
  return 255;
}
