/* vaprobe-report.c - passdesk-vaprobe's report: the writer the probe uses and
 * the strict, bounded parser passdesk uses, side by side. */
#include "vaprobe-report.h"
#include "pd-i18n.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define MAX_STRING 2048
#define MAX_LIST 32

static const char *const known_status[] = {
  "ok", "no-device", "open-failed", "init-failed", "functional-failed", "privileges-failed", NULL,
};

void
pd_vaprobe_report_clear (PdVaprobeReport *r)
{
  g_clear_pointer (&r->status, g_free);
  g_clear_pointer (&r->error, g_free);
  g_clear_pointer (&r->device, g_free);
  g_clear_pointer (&r->user, g_free);
  g_clear_pointer (&r->va_api_version, g_free);
  g_clear_pointer (&r->vendor, g_free);
  g_clear_pointer (&r->driver, g_free);
  g_clear_pointer (&r->driver_path, g_free);
  g_clear_pointer (&r->decode, g_strfreev);
  g_clear_pointer (&r->encode, g_strfreev);
  g_clear_pointer (&r->functional_name, g_free);
  g_clear_pointer (&r->functional_message, g_free);
}

void
pd_vaprobe_report_free (PdVaprobeReport *r)
{
  if (r == NULL)
    return;
  pd_vaprobe_report_clear (r);
  g_free (r);
}

/* --- writing ---------------------------------------------------------------- */

static void
add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value == NULL)
    json_builder_add_null_value (b);
  else if (g_utf8_validate (value, -1, NULL))
    json_builder_add_string_value (b, value);
  else
    {
      /* Driver strings and paths are bytes; the report must stay UTF-8. */
      g_autofree char *valid = g_utf8_make_valid (value, -1);
      json_builder_add_string_value (b, valid);
    }
}

static void
add_list (JsonBuilder *b, const char *name, const char *const *list)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; list != NULL && list[i] != NULL; i++)
    json_builder_add_string_value (b, list[i]);
  json_builder_end_array (b);
}

char *
pd_vaprobe_report_to_json (const PdVaprobeReport *r, JsonNode *profiles,
                           const char *const *libva_messages, gboolean pretty)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string_or_null (b, "probe", "passdesk-vaprobe");
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, PD_VAPROBE_REPORT_FORMAT);
  add_string_or_null (b, "status", r->status);
  add_string_or_null (b, "error", r->error);
  add_string_or_null (b, "device", r->device);
  add_string_or_null (b, "user", r->user);
  add_string_or_null (b, "va_api_version", r->va_api_version);
  add_string_or_null (b, "vendor", r->vendor);
  add_string_or_null (b, "driver", r->driver);
  add_string_or_null (b, "driver_path", r->driver_path);
  add_list (b, "decode", (const char *const *) r->decode);
  add_list (b, "encode", (const char *const *) r->encode);
  json_builder_set_member_name (b, "video_processing");
  json_builder_add_boolean_value (b, r->video_processing);
  json_builder_set_member_name (b, "profiles");
  if (profiles)
    json_builder_add_value (b, json_node_copy (profiles));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "functional_test");
  json_builder_begin_object (b);
  add_string_or_null (b, "name", r->functional_name);
  json_builder_set_member_name (b, "ran");
  json_builder_add_boolean_value (b, r->functional_ran);
  json_builder_set_member_name (b, "passed");
  json_builder_add_boolean_value (b, r->functional_passed);
  json_builder_set_member_name (b, "duration_ms");
  json_builder_add_double_value (b, r->functional_ms);
  add_string_or_null (b, "message", r->functional_message);
  json_builder_end_object (b);
  add_list (b, "libva_messages", libva_messages);
  json_builder_set_member_name (b, "duration_ms");
  json_builder_add_double_value (b, r->duration_ms);
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, NULL);
}

/* --- reading ---------------------------------------------------------------- */

static gboolean
bad (GError **error, const char *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("the probe's report is invalid: %s"),
               what);
  return FALSE;
}

/* Optional string member: absent or null gives NULL. */
static gboolean
get_string (JsonObject *o, const char *name, gboolean required, char **out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (required)
        {
          g_autofree char *m = g_strdup_printf ("“%s” is missing", name);
          return bad (error, m);
        }
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      g_autofree char *m = g_strdup_printf ("“%s” is not a string", name);
      return bad (error, m);
    }
  const char *s = json_node_get_string (n);
  if (strlen (s) > MAX_STRING || !g_utf8_validate (s, -1, NULL))
    {
      g_autofree char *m = g_strdup_printf (_ ("“%s” is too long or not UTF-8"), name);
      return bad (error, m);
    }
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
get_bool (JsonObject *o, const char *name, gboolean *out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    {
      g_autofree char *m = g_strdup_printf ("“%s” is not a boolean", name);
      return bad (error, m);
    }
  *out = json_node_get_boolean (n);
  return TRUE;
}

static gboolean
get_number (JsonObject *o, const char *name, double *out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    {
      g_autofree char *m = g_strdup_printf ("“%s” is not a number", name);
      return bad (error, m);
    }
  double v = json_node_get_double (n);
  if (!isfinite (v) || v < 0 || v > 1e9)
    {
      g_autofree char *m = g_strdup_printf (_ ("“%s” is out of range"), name);
      return bad (error, m);
    }
  *out = v;
  return TRUE;
}

static gboolean
get_list (JsonObject *o, const char *name, char ***out, GError **error)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  JsonNode *n = json_object_get_member (o, name);
  if (n != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      if (!JSON_NODE_HOLDS_ARRAY (n))
        {
          g_autofree char *m = g_strdup_printf ("“%s” is not a list", name);
          return bad (error, m);
        }
      JsonArray *a = json_node_get_array (n);
      guint len = json_array_get_length (a);
      if (len > MAX_LIST)
        {
          g_autofree char *m = g_strdup_printf (_ ("“%s” has too many entries"), name);
          return bad (error, m);
        }
      for (guint i = 0; i < len; i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING
              || strlen (json_node_get_string (e)) > 64
              || !g_utf8_validate (json_node_get_string (e), -1, NULL))
            {
              g_autofree char *m = g_strdup_printf (_ ("“%s” holds a bad entry"), name);
              return bad (error, m);
            }
          g_strv_builder_add (b, json_node_get_string (e));
        }
    }
  *out = g_strv_builder_end (b);
  return TRUE;
}

PdVaprobeReport *
pd_vaprobe_report_parse (const char *data, gsize len, GError **error)
{
  if (len > PD_VAPROBE_REPORT_MAX_BYTES)
    {
      bad (error, "longer than 64 KiB");
      return NULL;
    }
  if (len == 0)
    {
      bad (error, "it is empty");
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize) len, NULL))
    {
      bad (error, "not UTF-8 text");
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("the probe's report is not JSON: %s"), local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      bad (error, "not a JSON object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (root);

  g_autofree char *probe = NULL;
  if (!get_string (o, "probe", TRUE, &probe, error))
    return NULL;
  if (strcmp (probe, "passdesk-vaprobe") != 0)
    {
      bad (error, "it does not come from passdesk-vaprobe");
      return NULL;
    }
  double format = 0;
  if (!get_number (o, "format", &format, error))
    return NULL;
  if (format != PD_VAPROBE_REPORT_FORMAT)
    {
      bad (error, "unknown format version");
      return NULL;
    }

  g_autoptr (PdVaprobeReport) r = g_new0 (PdVaprobeReport, 1);
  if (!get_string (o, "status", TRUE, &r->status, error))
    return NULL;
  if (!g_strv_contains (known_status, r->status))
    {
      bad (error, "unknown status");
      return NULL;
    }
  if (!get_string (o, "error", FALSE, &r->error, error)
      || !get_string (o, "device", FALSE, &r->device, error)
      || !get_string (o, "user", FALSE, &r->user, error)
      || !get_string (o, "va_api_version", FALSE, &r->va_api_version, error)
      || !get_string (o, "vendor", FALSE, &r->vendor, error)
      || !get_string (o, "driver", FALSE, &r->driver, error)
      || !get_string (o, "driver_path", FALSE, &r->driver_path, error)
      || !get_list (o, "decode", &r->decode, error) || !get_list (o, "encode", &r->encode, error)
      || !get_bool (o, "video_processing", &r->video_processing, error)
      || !get_number (o, "duration_ms", &r->duration_ms, error))
    return NULL;

  JsonNode *ft = json_object_get_member (o, "functional_test");
  if (ft != NULL && !JSON_NODE_HOLDS_NULL (ft))
    {
      if (!JSON_NODE_HOLDS_OBJECT (ft))
        {
          bad (error, "“functional_test” is not an object");
          return NULL;
        }
      JsonObject *f = json_node_get_object (ft);
      if (!get_string (f, "name", FALSE, &r->functional_name, error)
          || !get_bool (f, "ran", &r->functional_ran, error)
          || !get_bool (f, "passed", &r->functional_passed, error)
          || !get_number (f, "duration_ms", &r->functional_ms, error)
          || !get_string (f, "message", FALSE, &r->functional_message, error))
        return NULL;
      if (r->functional_passed && !r->functional_ran)
        {
          bad (error, "a functional test that did not run cannot pass");
          return NULL;
        }
    }
  return g_steal_pointer (&r);
}
