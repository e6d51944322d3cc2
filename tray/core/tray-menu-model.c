/* tray-menu-model.c - the tray menu's items and their wording. */
#include "tray-menu-model.h"
#include "pd-i18n.h"

enum
{
  ITEM_COMPONENT_FIRST = 1, /* one per component, in PdComponentId order */
  ITEM_SEPARATOR_1 = ITEM_COMPONENT_FIRST + PD_N_COMPONENTS,
  ITEM_STATUS,
  ITEM_SWITCH_AUDIO,
  ITEM_RUN_CHECKS,
  ITEM_COLD_RESTART,
  ITEM_RESTART_NOTE, /* what the desktop's Restart will do, when the host converts it */
  ITEM_SEPARATOR_2,
  ITEM_QUIT,
  N_ITEMS = ITEM_QUIT
};

struct _PdTrayMenuModel
{
  GObject parent_instance;
  PdTrayMenuItem items[N_ITEMS];
};

G_DEFINE_TYPE (PdTrayMenuModel, pd_tray_menu_model, G_TYPE_OBJECT)

static guint changed_signal;

static char *
escape_mnemonic (const char *text)
{
  g_auto (GStrv) parts = g_strsplit (text, "_", -1);
  return g_strjoinv ("__", parts);
}

char *
pd_tray_menu_label_plain (const char *label)
{
  GString *s = g_string_new (NULL);
  for (const char *p = label; *p; p++)
    {
      if (*p == '_')
        {
          if (p[1] == '_')
            p++;
          else
            continue;
        }
      g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

/* Sets a string field; returns TRUE when it changed. */
static gboolean
set_str (char **field, char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    {
      g_free (value);
      return FALSE;
    }
  g_free (*field);
  *field = value;
  return TRUE;
}

static gboolean
set_bool (gboolean *field, gboolean value)
{
  value = !!value;
  if (*field == value)
    return FALSE;
  *field = value;
  return TRUE;
}

void
pd_tray_menu_model_update (PdTrayMenuModel *self, const PdTrayState *state)
{
  g_autoptr (GArray) changed = g_array_new (FALSE, FALSE, sizeof (guint));
  gboolean layout = FALSE;

  for (guint n = 0; n < N_ITEMS; n++)
    {
      PdTrayMenuItem *item = &self->items[n];
      gboolean props = FALSE, vis = FALSE;
      char *label = NULL, *icon = NULL;
      gboolean enabled = TRUE, visible = TRUE;

      if (item->id >= ITEM_COMPONENT_FIRST && item->id < ITEM_SEPARATOR_1)
        {
          PdComponentId cid = item->id - ITEM_COMPONENT_FIRST;
          const PdComponent *c = pd_report_get (state->report, cid);
          visible = c != NULL;
          if (c != NULL)
            {
              g_autofree char *title = escape_mnemonic (pd_component_title_localized (cid));
              label = g_strdup_printf ("%s: %s", title, pd_tray_state_label (c->state));
              icon = g_strdup (pd_tray_state_icon_for (c->state));
            }
          else
            label = g_strdup (pd_component_title_localized (cid));
        }
      else
        switch (item->id)
          {
          case ITEM_STATUS:
            label = g_strdup ("_Status…");
            break;
          case ITEM_SWITCH_AUDIO:
            label = g_strdup (_ ("S_witch audio to HDMI"));
            visible = state->can_switch_audio;
            break;
          case ITEM_RUN_CHECKS:
            label = g_strdup (_ ("_Run checks now"));
            enabled = state->agent_connected;
            break;
          case ITEM_COLD_RESTART:
            if (state->cold_restart_blocked != NULL)
              {
                g_autofree char *why = escape_mnemonic (state->cold_restart_blocked);
                label = g_strdup_printf (_ ("Cold restart VM (%s)"), why);
                enabled = FALSE;
              }
            else
              label = g_strdup (_ ("_Cold restart VM…"));
            break;
          case ITEM_RESTART_NOTE:
            {
              /* Said where people look before they restart: a line, not an action. */
              gboolean converted;
              const char *note = pd_tray_state_restart_note (state, &converted);
              visible = note != NULL && converted;
              label = visible ? escape_mnemonic (note) : NULL;
              enabled = FALSE;
            }
            break;
          case ITEM_QUIT:
            label = g_strdup (_ ("_Quit"));
            break;
          default: /* separators */
            break;
          }

      props |= set_str (&item->label, label != NULL ? label : g_strdup (""));
      props |= set_str (&item->icon_name, icon);
      props |= set_bool (&item->enabled, enabled);
      vis = set_bool (&item->visible, visible);
      if (props || vis)
        g_array_append_val (changed, item->id);
      layout |= vis;
    }
  if (changed->len > 0)
    g_signal_emit (self, changed_signal, 0, changed, layout);
}

guint
pd_tray_menu_model_get_n_items (PdTrayMenuModel *self)
{
  return N_ITEMS;
}

const PdTrayMenuItem *
pd_tray_menu_model_get_item (PdTrayMenuModel *self, guint position)
{
  g_return_val_if_fail (position < N_ITEMS, NULL);
  return &self->items[position];
}

const PdTrayMenuItem *
pd_tray_menu_model_lookup (PdTrayMenuModel *self, guint id)
{
  if (id < 1 || id > N_ITEMS)
    return NULL;
  return &self->items[id - 1];
}

static void
pd_tray_menu_model_finalize (GObject *object)
{
  PdTrayMenuModel *self = PD_TRAY_MENU_MODEL (object);

  for (guint n = 0; n < N_ITEMS; n++)
    {
      g_free (self->items[n].label);
      g_free (self->items[n].icon_name);
    }
  G_OBJECT_CLASS (pd_tray_menu_model_parent_class)->finalize (object);
}

static void
pd_tray_menu_model_class_init (PdTrayMenuModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pd_tray_menu_model_finalize;
  changed_signal = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 2, G_TYPE_ARRAY, G_TYPE_BOOLEAN);
}

static void
pd_tray_menu_model_init (PdTrayMenuModel *self)
{
  for (guint n = 0; n < N_ITEMS; n++)
    {
      PdTrayMenuItem *item = &self->items[n];
      item->id = n + 1;
      item->enabled = TRUE;
      item->visible = TRUE;
      item->label = g_strdup ("");
      if (item->id == ITEM_SEPARATOR_1 || item->id == ITEM_SEPARATOR_2)
        item->type = PD_TRAY_MENU_ITEM_SEPARATOR;
      else if (item->id < ITEM_SEPARATOR_1)
        item->action = "app.status";
    }
  self->items[ITEM_STATUS - 1].action = "app.status";
  self->items[ITEM_SWITCH_AUDIO - 1].action = "app.switch-audio";
  self->items[ITEM_RUN_CHECKS - 1].action = "app.run-checks";
  self->items[ITEM_COLD_RESTART - 1].action = "app.cold-restart";
  self->items[ITEM_QUIT - 1].action = "app.quit";
}

PdTrayMenuModel *
pd_tray_menu_model_new (void)
{
  return g_object_new (PD_TYPE_TRAY_MENU_MODEL, NULL);
}
