/* vaapi-check.c - PLACEHOLDER until the VA-API probe lands. */
#include "vaapi-check.h"

void
pd_vaapi_check_async (const PdGpuScan *scan, guint timeout_ms, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_return_pointer (task,
                         pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN,
                                           "VA-API probe not implemented yet"),
                         (GDestroyNotify) pd_component_free);
}

PdComponent *
pd_vaapi_check_finish (GAsyncResult *result)
{
  return g_task_propagate_pointer (G_TASK (result), NULL);
}

PdComponent *
pd_vaapi_check_sync (const PdGpuScan *scan, guint timeout_ms)
{
  return pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN,
                           "VA-API probe not implemented yet");
}
