/* cli-format.c - times, history entries, usage errors and wrapped text as the CLI prints them. */
#include "cli-format.h"
#include "pd-i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

char *
pd_cli_format_time (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("?");
  return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
}

JsonNode *
pd_cli_event_to_json (gint64 time_us, const char *kind, const char *component, const char *text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GDateTime) sec = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) dt = sec ? g_date_time_add (sec, time_us % G_USEC_PER_SEC) : NULL;
  g_autofree char *iso = dt ? g_date_time_format_iso8601 (dt) : NULL;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "event");
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, iso ? iso : "");
  json_builder_set_member_name (b, "time_us");
  json_builder_add_int_value (b, time_us);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind);
  json_builder_set_member_name (b, "component");
  json_builder_add_string_value (b, component);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

int
pd_cli_usage_error (const char *command, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (command)
    {
      fprintf (stderr, "passdesk %s: %s\n", command, msg);
      /* TRANSLATORS: after a usage error; %s is a command such as "status" */
      fprintf (stderr, _ ("Try 'passdesk %s --help'."), command);
    }
  else
    {
      fprintf (stderr, "passdesk: %s\n", msg);
      fputs (_ ("Try 'passdesk --help'."), stderr);
    }
  fputc ('\n', stderr);
  return 2;
}
