/* The one root prefix for host paths and its bounded readers
 * (agent/core/sysroot.c). */
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <sys/stat.h>

#include "sysroot.h"

static void
test_sysroot (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pd-sysroot-XXXXXX", NULL);
  g_autofree char *sys = g_build_filename (dir, "sys", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sys, 0755), ==, 0);
  g_autofree char *f = g_build_filename (sys, "attr", NULL);
  g_assert_true (g_file_set_contents (f, "0x8086\n", -1, NULL));
  g_autofree char *big = g_build_filename (sys, "big", NULL);
  g_autofree char *bigdata = g_strnfill (5000, 'x');
  g_assert_true (g_file_set_contents (big, bigdata, -1, NULL));
  g_autofree char *nul = g_build_filename (sys, "nul", NULL);
  g_assert_true (g_file_set_contents (nul, "a\0b", 3, NULL));

  g_autofree char *with_slash = g_strconcat (dir, "//", NULL);
  g_setenv ("PASSDESK_SYSROOT", with_slash, TRUE);
  pd_sysroot_reset ();
  g_assert_cmpstr (pd_sysroot (), ==, dir);
  g_autofree char *p = pd_sysroot_path ("/sys/attr");
  g_assert_cmpstr (p, ==, f);

  g_autoptr (GError) error = NULL;
  g_autofree char *v = pd_sysroot_read_attr ("/sys/attr", 64, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (v, ==, "0x8086");

  g_autofree char *v2 = pd_sysroot_read_attr ("/sys/big", 4096, &error);
  g_assert_null (v2);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_autofree char *v3 = pd_sysroot_read_attr ("/sys/nul", 64, &error);
  g_assert_null (v3);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_autofree char *v4 = pd_sysroot_read_attr ("/sys/none", 64, &error);
  g_assert_null (v4);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

  g_clear_error (&error);

  /* The general reader: truncation, NUL bytes as data, growth past the
   * first chunk, and a FIFO that must be refused without blocking. */
  gsize len = 0;
  g_autofree char *head
      = pd_sysroot_read_file ("/sys/big", 10, PD_SYSROOT_READ_TRUNCATE, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 10);
  g_assert_cmpstr (head, ==, "xxxxxxxxxx");
  g_autofree char *whole = pd_sysroot_read_file ("/sys/big", 1 << 20, 0, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 5000);
  g_autofree char *bin
      = pd_sysroot_read_file ("/sys/nul", 64, PD_SYSROOT_READ_ALLOW_NUL, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 3);
  g_assert_cmpmem (bin, 4, "a\0b\0", 4);
  g_autofree char *fifo = g_build_filename (sys, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autofree char *none = pd_sysroot_read_file ("/sys/fifo", 64, 0, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_remove (fifo);

  g_unsetenv ("PASSDESK_SYSROOT");
  pd_sysroot_reset ();
  g_assert_cmpstr (pd_sysroot (), ==, "");

  g_remove (f);
  g_remove (big);
  g_remove (nul);
  g_rmdir (sys);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sysroot/prefix-and-bounded-read", test_sysroot);
  return g_test_run ();
}
