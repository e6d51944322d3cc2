/* cli-scan-log.c - PLACEHOLDER until the log scanner lands. */
#include <stdio.h>

#include "cli.h"

int
pd_cli_scan_log (int argc, char **argv)
{
  fprintf (stderr, "passdesk scan-log: not implemented yet\n");
  return PD_EXIT_USAGE;
}
