/* test-apt-dpkg.c - dpkg status and apt sources parsing, and the exact
 * component edits planned for one-line and deb822 sources. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "apt-sources.h"
#include "dpkg-status.h"
#include "sysroot.h"

static const char *const wanted[] = { "main", "contrib", "non-free", "non-free-firmware", NULL };

static void
use_fixture (const char *machine)
{
  const char *dir = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_assert_nonnull (dir);
  g_autofree char *root = g_build_filename (dir, machine, NULL);
  g_assert_true (g_file_test (root, G_FILE_TEST_IS_DIR));
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  pd_sysroot_reset ();
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("“%s” does not contain “%s”", haystack ? haystack : "(null)", needle);
}

static void
test_dpkg_parse (void)
{
  const char text[] = "Package: a\nStatus: install ok installed\nVersion: 1.0\n"
                      "Description: x\n Package: fake-in-continuation\n\n"
                      "Package: b\nStatus: deinstall ok config-files\nVersion: 2\n\n"
                      "Package: c\nStatus: install ok half-installed\n\n"
                      "Package: d\r\nStatus: hold ok installed\r\nVersion: 3:4.5\r\n\r\n"
                      "Package: e\nStatus: install ok not-installed\n\n"
                      "Package: f\nVersion: 1\n\n"
                      "Status: install ok installed\nPackage: g\nArchitecture: i386";
  g_autoptr (PdDpkgStatus) st = pd_dpkg_status_parse (text, sizeof text - 1);
  g_assert_true (pd_dpkg_status_is_installed (st, "a"));
  g_assert_cmpstr (pd_dpkg_status_version (st, "a"), ==, "1.0");
  g_assert_false (pd_dpkg_status_is_installed (st, "fake-in-continuation"));
  g_assert_false (pd_dpkg_status_is_installed (st, "b"));
  g_assert_false (pd_dpkg_status_is_installed (st, "c"));
  g_assert_true (pd_dpkg_status_is_installed (st, "d"));
  g_assert_cmpstr (pd_dpkg_status_version (st, "d"), ==, "3:4.5");
  g_assert_false (pd_dpkg_status_is_installed (st, "e"));
  g_assert_false (pd_dpkg_status_is_installed (st, "f"));
  g_assert_true (pd_dpkg_status_is_installed (st, "g")); /* last stanza, no trailing newline */
  g_assert_cmpuint (pd_dpkg_status_count (st), ==, 3);
  g_assert_null (pd_dpkg_status_version (st, "zzz"));
}

static void
test_dpkg_fixtures (void)
{
  use_fixture ("esprimo-oneline-main");
  g_autoptr (GError) error = NULL;
  g_autoptr (PdDpkgStatus) st = pd_dpkg_status_load (&error);
  g_assert_no_error (error);
  g_assert_true (pd_dpkg_status_is_installed (st, "intel-media-va-driver"));
  g_assert_cmpstr (pd_dpkg_status_version (st, "intel-media-va-driver"), ==, "23.1.1+dfsg1-1");
  /* Removed, config files left: not installed. */
  g_assert_false (pd_dpkg_status_is_installed (st, "intel-media-va-driver-non-free"));
  g_assert_true (pd_dpkg_status_is_installed (st, "vainfo"));

  /* No dpkg status at all: a clear error, not a crash. */
  g_autofree char *empty = g_dir_make_tmp ("apt-dpkg-XXXXXX", NULL);
  g_setenv ("PASSDESK_SYSROOT", empty, TRUE);
  pd_sysroot_reset ();
  g_autoptr (GError) e2 = NULL;
  g_autoptr (PdDpkgStatus) none = pd_dpkg_status_load (&e2);
  g_assert_null (none);
  g_assert_error (e2, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  assert_contains (e2->message, "/var/lib/dpkg/status");
  g_autoptr (PdAptSources) s = pd_apt_sources_load ();
  g_assert_cmpuint (s->entries->len, ==, 0);
  g_assert_cmpuint (s->errors->len, ==, 0);
  g_rmdir (empty);
}

static void
test_oneline_main_only (void)
{
  use_fixture ("esprimo-oneline-main");
  g_autoptr (PdAptSources) s = pd_apt_sources_load ();
  /* deb and deb-src for three suites; the commented cdrom line is not one. */
  g_assert_cmpuint (s->entries->len, ==, 6);
  PdAptFormat fmt;
  g_assert_true (pd_apt_sources_debian_format (s, &fmt));
  g_assert_cmpint (fmt, ==, PD_APT_FORMAT_ONE_LINE);
  g_assert_cmpstr (pd_apt_sources_debian_suite (s), ==, "bookworm");
  g_assert_true (pd_apt_sources_has_component (s, "main"));
  g_assert_false (pd_apt_sources_has_component (s, "non-free"));

  g_autofree char *text = NULL, *cmd = NULL;
  g_assert_true (pd_apt_sources_plan_components (s, wanted, &text, &cmd));
  assert_contains (text, "Enable the Debian components contrib non-free non-free-firmware");
  /* Three lines change: the sentence says so, the command spells them out. */
  assert_contains (text, ": the command below adds them to the 3 Debian lines of "
                         "/etc/apt/sources.list and runs “sudo apt update”.");
  g_assert_cmpstr (cmd, ==,
                   "sudo sed -i"
                   " -e 's|^deb http://deb\\.debian\\.org/debian/ bookworm main$|"
                   "deb http://deb.debian.org/debian/ bookworm main contrib non-free "
                   "non-free-firmware|'"
                   " -e 's|^deb http://security\\.debian\\.org/debian-security bookworm-security "
                   "main$|deb http://security.debian.org/debian-security bookworm-security main "
                   "contrib non-free non-free-firmware|'"
                   " -e 's|^deb http://deb\\.debian\\.org/debian/ bookworm-updates main$|"
                   "deb http://deb.debian.org/debian/ bookworm-updates main contrib non-free "
                   "non-free-firmware|'"
                   " /etc/apt/sources.list && sudo apt update");
}

/* Runs the planned sed command on a copy of the file and checks the result
 * is what apt would read as all four components. */
static void
test_oneline_command_really_works (void)
{
  use_fixture ("esprimo-oneline-main");
  g_autoptr (PdAptSources) s = pd_apt_sources_load ();
  g_autofree char *text = NULL, *cmd = NULL;
  g_assert_true (pd_apt_sources_plan_components (s, wanted, &text, &cmd));

  g_autofree char *tmp = g_dir_make_tmp ("apt-sed-XXXXXX", NULL);
  g_autofree char *etc_apt = g_build_filename (tmp, "etc", "apt", NULL);
  g_assert_cmpint (g_mkdir_with_parents (etc_apt, 0755), ==, 0);
  g_autofree char *src
      = g_build_filename (g_getenv ("PASSDESK_SYSROOT"), "etc", "apt", "sources.list", NULL);
  g_autofree char *dst = g_build_filename (etc_apt, "sources.list", NULL);
  g_autofree char *orig = NULL;
  g_assert_true (g_file_get_contents (src, &orig, NULL, NULL));
  g_assert_true (g_file_set_contents (dst, orig, -1, NULL));

  /* Drop "sudo " and "&& sudo apt update", and point sed at the copy. */
  g_autofree char *sed = g_strndup (cmd + strlen ("sudo "),
                                    strstr (cmd, " && sudo apt update") - cmd - strlen ("sudo "));
  g_autofree char *quoted = g_shell_quote (dst);
  g_autofree char *local = g_strdup (sed);
  char *target = strstr (local, " /etc/apt/sources.list");
  g_assert_nonnull (target);
  *target = '\0';
  g_autofree char *full = g_strdup_printf ("%s %s", local, quoted);
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_command_line_sync (full, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  g_setenv ("PASSDESK_SYSROOT", tmp, TRUE);
  pd_sysroot_reset ();
  g_autoptr (PdAptSources) after = pd_apt_sources_load ();
  g_autofree char *t2 = NULL, *c2 = NULL;
  g_assert_false (pd_apt_sources_plan_components (after, wanted, &t2, &c2));
  g_assert_true (pd_apt_sources_has_component (after, "non-free"));
  /* deb-src lines are left as they were. */
  g_autofree char *edited = NULL;
  g_assert_true (g_file_get_contents (dst, &edited, NULL, NULL));
  assert_contains (edited, "\ndeb-src http://deb.debian.org/debian/ bookworm main\n");
  g_unlink (dst);
  g_rmdir (etc_apt);
  g_autofree char *etc = g_build_filename (tmp, "etc", NULL);
  g_rmdir (etc);
  g_rmdir (tmp);
}

static void
test_oneline_nonfree_present (void)
{
  use_fixture ("esprimo-oneline-nonfree");
  g_autoptr (PdAptSources) s = pd_apt_sources_load ();
  g_assert_true (pd_apt_sources_has_component (s, "non-free"));
  g_assert_true (pd_apt_sources_has_component (s, "non-free-firmware"));
  g_autofree char *text = NULL, *cmd = NULL;
  g_assert_false (pd_apt_sources_plan_components (s, wanted, &text, &cmd));
  g_assert_null (text);
  g_assert_null (cmd);
  /* The Microsoft entry ("stable main") is read but is not a Debian entry. */
  gboolean saw_vscode = FALSE;
  for (guint i = 0; i < s->entries->len; i++)
    {
      const PdAptEntry *e = s->entries->pdata[i];
      if (g_str_has_prefix (e->uri, "https://packages.microsoft.com"))
        {
          saw_vscode = TRUE;
          g_assert_cmpstr (e->file, ==, "/etc/apt/sources.list.d/vscode.list");
          g_assert_false (pd_apt_entry_is_debian (e)); /* [arch=...] options skipped */
        }
    }
  g_assert_true (saw_vscode);
}

static void
test_deb822_partial (void)
{
  use_fixture ("esprimo");
  g_autoptr (PdAptSources) s = pd_apt_sources_load ();
  g_assert_cmpuint (s->entries->len, ==, 2);
  PdAptFormat fmt;
  g_assert_true (pd_apt_sources_debian_format (s, &fmt));
  g_assert_cmpint (fmt, ==, PD_APT_FORMAT_DEB822);
  g_assert_cmpstr (pd_apt_sources_debian_suite (s), ==, "trixie");
  g_assert_true (pd_apt_sources_has_component (s, "non-free-firmware"));
  g_assert_false (pd_apt_sources_has_component (s, "non-free"));
  g_autofree char *text = NULL, *cmd = NULL;
  g_assert_true (pd_apt_sources_plan_components (s, wanted, &text, &cmd));
  /* Only what is missing, kept in apt's usual order after what is there. */
  assert_contains (text, "Enable the Debian components contrib non-free in your apt sources: in "
                         "/etc/apt/sources.list.d/debian.sources change “Components: main "
                         "non-free-firmware” to “Components: main non-free-firmware contrib "
                         "non-free”");
  /* Both stanzas have the same line: one edit covers them. */
  g_assert_cmpstr (cmd, ==,
                   "sudo sed -i -e 's|^Components: main non-free-firmware$|Components: main "
                   "non-free-firmware contrib non-free|' /etc/apt/sources.list.d/debian.sources "
                   "&& sudo apt update");
}

static void
test_deb822_complete (void)
{
  use_fixture ("esprimo-deb822-nonfree");
  g_autoptr (PdAptSources) s = pd_apt_sources_load ();
  g_autofree char *text = NULL, *cmd = NULL;
  g_assert_false (pd_apt_sources_plan_components (s, wanted, &text, &cmd));
}

static void
test_deb822_parse_details (void)
{
  g_autoptr (PdAptSources) s = pd_apt_sources_new ();
  pd_apt_sources_parse_deb822 (s, "/etc/apt/sources.list.d/x.sources",
                               "# comment\n"
                               "Types: deb\n"
                               "URIs: http://deb.debian.org/debian\n"
                               "Suites: bookworm\n"
                               "# a comment inside the stanza\n"
                               "Components: main\n"
                               " contrib\n"
                               "Signed-By:\n"
                               " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
                               " .\n"
                               " -----END PGP PUBLIC KEY BLOCK-----\n"
                               "\n"
                               "Enabled: no\n"
                               "Types: deb\n"
                               "URIs: http://deb.debian.org/debian\n"
                               "Suites: bookworm-backports\n"
                               "Components: main non-free\n"
                               "\n"
                               "Types: deb-src\n"
                               "URIs: http://deb.debian.org/debian\n"
                               "Suites: bookworm\n"
                               "Components: main\n");
  g_assert_cmpuint (s->entries->len, ==, 2); /* the disabled stanza is left out */
  const PdAptEntry *e = s->entries->pdata[0];
  g_assert_true (pd_apt_entry_has_component (e, "contrib"));
  g_assert_null (e->line_text); /* Components continued on the next line */
  g_assert_cmpuint (e->line, ==, 6);
  g_assert_false (((PdAptEntry *) s->entries->pdata[1])->has_deb);
  /* A Components line that continues cannot be edited with sed: text only. */
  g_autofree char *text = NULL, *cmd = NULL;
  g_assert_true (pd_apt_sources_plan_components (s, wanted, &text, &cmd));
  assert_contains (text, "non-free non-free-firmware");
  g_assert_null (cmd);
}

static void
test_no_debian_entries (void)
{
  g_autoptr (PdAptSources) s = pd_apt_sources_new ();
  pd_apt_sources_parse_one_line (s, "/etc/apt/sources.list",
                                 "deb cdrom:[Debian GNU/Linux 12]/ bookworm main\n"
                                 "deb [ arch=amd64 ] https://repo.example.org/apt ./\n");
  g_assert_cmpuint (s->entries->len, ==, 1);
  s->os_codename = g_strdup ("bookworm");
  g_autofree char *text = NULL, *cmd = NULL;
  g_assert_true (pd_apt_sources_plan_components (s, wanted, &text, &cmd));
  assert_contains (text, "No Debian archive entry was found");
  assert_contains (text, "“deb http://deb.debian.org/debian bookworm main contrib non-free "
                         "non-free-firmware”");
  g_assert_null (cmd);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dpkg/parse", test_dpkg_parse);
  g_test_add_func ("/dpkg/fixtures", test_dpkg_fixtures);
  g_test_add_func ("/apt/one-line-main-only", test_oneline_main_only);
  g_test_add_func ("/apt/one-line-command-really-works", test_oneline_command_really_works);
  g_test_add_func ("/apt/one-line-non-free-present", test_oneline_nonfree_present);
  g_test_add_func ("/apt/deb822-partial", test_deb822_partial);
  g_test_add_func ("/apt/deb822-complete", test_deb822_complete);
  g_test_add_func ("/apt/deb822-parse-details", test_deb822_parse_details);
  g_test_add_func ("/apt/no-debian-entries", test_no_debian_entries);
  return g_test_run ();
}
