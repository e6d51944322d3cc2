/* cli.h - the `passdesk` command line: one function per subcommand.
 *
 * Each takes the subcommand's own argv (argv[0] is the subcommand name) and
 * returns the process exit status: 0 all well, 1 a problem was found or the
 * action failed, 2 usage or input errors.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

enum
{
  PD_EXIT_OK = 0,
  PD_EXIT_PROBLEM = 1,
  PD_EXIT_USAGE = 2,
};

int pd_cli_status (int argc, char **argv);
int pd_cli_scan_log (int argc, char **argv);
int pd_cli_watch (int argc, char **argv);
int pd_cli_events (int argc, char **argv);
int pd_cli_cold_restart (int argc, char **argv);

G_END_DECLS
