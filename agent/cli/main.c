/* passdesk.c - the `passdesk` command: dispatches to a subcommand. */
#include "config.h"

#include "pd-i18n.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli-format.h"
#include "cli.h"

typedef int (*PdCliFunc) (int argc, char **argv);

static const struct
{
  const char *name;
  PdCliFunc func;
  const char *help;
} commands[] = {
  { "status", pd_cli_status, N_ ("Check the GPU, display and video acceleration, with advice") },
  { "scan-log", pd_cli_scan_log,
    N_ ("Find known GPU, USB, audio and VFIO problems in a kernel log") },
  { "watch", pd_cli_watch, N_ ("Follow the agent's state changes and events as they happen") },
  { "events", pd_cli_events, N_ ("Print the agent's event history") },
  { "cold-restart", pd_cli_cold_restart,
    N_ ("Have the host stop and start this VM so its hooks reset the GPU") },
};

static void
print_usage (FILE *out)
{
  g_autoptr (GString) help = g_string_new (NULL);
  g_string_append (help, _ ("Usage: passdesk COMMAND [OPTION…]\n"
                            "       passdesk help COMMAND\n\n"
                            "Keeps a Proxmox VM with a passed-through iGPU usable as a desktop.\n\n"
                            "Commands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (help, "  %-14s %s\n", commands[i].name, _ (commands[i].help));
  g_string_append (help, _ ("\nOptions:\n"
                            "  -h, --help     Show this help\n"
                            "  -V, --version  Show the version\n"
                            "\nRun 'passdesk help COMMAND' for a command's options.\n"
                            "Exit status: 0 all well, 1 a problem was found, 2 usage error.\n"));
  /* Wrapped like the commands' own help (pd-terminal.h). */
  guint width = pd_terminal_width (fileno (out));
  g_autofree char *wrapped = pd_terminal_wrap_help (help->str, width ? width : 80);
  fputs (wrapped, out);
}

static int
run_command (guint i, int argc, char **argv)
{
  /* GOption's usage line says "<prgname> [OPTION…]". */
  g_autofree char *prgname = g_strdup_printf ("passdesk %s", commands[i].name);
  g_set_prgname (prgname);
  return commands[i].func (argc, argv);
}

static int
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (name, commands[i].name) == 0)
      return (int) i;
  return -1;
}

int
main (int argc, char **argv)
{
  pd_i18n_init ();

  if (argc < 2)
    {
      print_usage (stderr);
      return PD_EXIT_USAGE;
    }
  if (strcmp (argv[1], "help") == 0 && argc > 2)
    {
      /* "passdesk help status" is "passdesk status --help", as with git. */
      int i = find_command (argv[2]);
      if (i < 0)
        return pd_cli_usage_error (NULL, "no command “%s”", argv[2]);
      char *help_argv[] = { argv[2], (char *) "--help", NULL };
      return run_command ((guint) i, 2, help_argv);
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return PD_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "-V") == 0)
    {
      printf ("passdesk %s\n", PACKAGE_VERSION);
      return PD_EXIT_OK;
    }
  int i = find_command (argv[1]);
  if (i >= 0)
    return run_command ((guint) i, argc - 1, argv + 1);
  if (argv[1][0] == '-')
    return pd_cli_usage_error (NULL, _ ("unknown option %s"), argv[1]);
  return pd_cli_usage_error (NULL, _ ("unknown command “%s”"), argv[1]);
}
