/* vaprobe-main.c - passdesk-vaprobe: probes VA-API on one render node and
 * proves the GPU works by having it scale a known frame.
 *
 *   passdesk-vaprobe [--device /dev/dri/renderD128] [--user NAME] [--json]
 *
 * Runs as a child of the agent or the CLI, which kill it at a deadline: a
 * hung GPU can block libva forever. With --json it prints one JSON report
 * on one line (see vaprobe-report.h), else the same as text, and exits
 * with PD_VAPROBE_EXIT_* (0 ok, 1 problem, 2 usage, 3 no device, 4 could
 * not drop privileges). Started as root it first becomes --user (default
 * "nobody") with the supplementary groups render and video, before it
 * touches the GPU. The device is opened through $PASSDESK_SYSROOT.
 */
#include "config.h"

#include "pd-i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <grp.h>
#include <json-glib/json-glib.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <va/va.h>
#include <va/va_dec_jpeg.h>
#include <va/va_drm.h>
#include <va/va_str.h>
#include <va/va_vpp.h>

#include "sysroot.h"
#include "vaprobe-frames.h"
#include "vaprobe-jpeg.h"
#include "vaprobe-report.h"

/* VideoProc test: the pattern at SRC size, scaled down to DST. */
#define SRC_W 64
#define SRC_H 64
#define DST_W 32
#define DST_H 32

/* How long the GPU may take for the test job; the parent's deadline
 * (5 s by default) is the real guard, this only lets us say so ourselves. */
#define SYNC_BUDGET_US (3 * G_USEC_PER_SEC)
#define MAX_MESSAGES 16

typedef struct
{
  PdVaprobeReport r; /* what the report says (vaprobe-report.h writes it) */
  GPtrArray *decode; /* static codec names, collected into r.decode at the end */
  GPtrArray *encode;
  gboolean has_jpeg_decode;
  JsonNode *profiles;
  GPtrArray *messages; /* libva's own error and info lines */
  char *trying;        /* last driver libva tried to open */
} Probe;

static void
set_str (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

static void
probe_add_message (Probe *p, const char *prefix, const char *message)
{
  g_autofree char *m = g_strstrip (g_utf8_make_valid (message, -1));
  if (g_str_has_prefix (m, "Trying to open "))
    {
      g_free (p->trying);
      p->trying = g_strdup (m + strlen ("Trying to open "));
    }
  if (p->messages->len < MAX_MESSAGES && strlen (m) < 512)
    g_ptr_array_add (p->messages, g_strconcat (prefix, m, NULL));
}

static void
on_va_error (void *ctx, const char *message)
{
  probe_add_message (ctx, "error: ", message);
}

static void
on_va_info (void *ctx, const char *message)
{
  probe_add_message (ctx, "info: ", message);
}

static void
add_unique (GPtrArray *list, const char *name)
{
  if (!g_ptr_array_find_with_equal_func (list, name, g_str_equal, NULL))
    g_ptr_array_add (list, (gpointer) name);
}

/* The codec a profile belongs to, in the names the report uses. */
static const char *
profile_codec (VAProfile profile)
{
  switch (profile)
    {
    case VAProfileH264ConstrainedBaseline:
    case VAProfileH264Main:
    case VAProfileH264High:
    case VAProfileH264MultiviewHigh:
    case VAProfileH264StereoHigh:
      return "H.264";
    case VAProfileHEVCMain:
      return "HEVC";
    case VAProfileHEVCMain10:
      return "HEVC 10-bit";
    case VAProfileVP8Version0_3:
      return "VP8";
    case VAProfileVP9Profile0:
      return "VP9";
    case VAProfileVP9Profile2:
      return "VP9 10-bit";
    case VAProfileAV1Profile0:
      return "AV1";
    case VAProfileMPEG2Simple:
    case VAProfileMPEG2Main:
      return "MPEG-2";
    case VAProfileVC1Simple:
    case VAProfileVC1Main:
    case VAProfileVC1Advanced:
      return "VC-1";
    case VAProfileJPEGBaseline:
      return "JPEG";
    default:
      return NULL;
    }
}

static void
probe_query_profiles (Probe *p, VADisplay dpy)
{
  int max_profiles = vaMaxNumProfiles (dpy);
  int max_entrypoints = vaMaxNumEntrypoints (dpy);
  if (max_profiles <= 0 || max_entrypoints <= 0 || max_profiles > 1024 || max_entrypoints > 1024)
    return;
  g_autofree VAProfile *profiles = g_new0 (VAProfile, max_profiles);
  g_autofree VAEntrypoint *eps = g_new0 (VAEntrypoint, max_entrypoints);
  int n_profiles = 0;
  if (vaQueryConfigProfiles (dpy, profiles, &n_profiles) != VA_STATUS_SUCCESS)
    return;

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  for (int i = 0; i < n_profiles && i < max_profiles; i++)
    {
      int n_eps = 0;
      if (vaQueryConfigEntrypoints (dpy, profiles[i], eps, &n_eps) != VA_STATUS_SUCCESS)
        continue;
      json_builder_set_member_name (b, vaProfileStr (profiles[i]));
      json_builder_begin_array (b);
      const char *codec = profile_codec (profiles[i]);
      for (int j = 0; j < n_eps && j < max_entrypoints; j++)
        {
          json_builder_add_string_value (b, vaEntrypointStr (eps[j]));
          switch (eps[j])
            {
            case VAEntrypointVLD:
              if (codec)
                add_unique (p->decode, codec);
              if (profiles[i] == VAProfileJPEGBaseline)
                p->has_jpeg_decode = TRUE;
              break;
            case VAEntrypointEncSlice:
            case VAEntrypointEncSliceLP:
            case VAEntrypointEncPicture:
              if (codec)
                add_unique (p->encode, codec);
              break;
            case VAEntrypointVideoProc:
              if (profiles[i] == VAProfileNone)
                p->r.video_processing = TRUE;
              break;
            default:
              break;
            }
        }
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  p->profiles = json_builder_get_root (b);
}

/* --- functional test: VideoProc scale of a known NV12 pattern ------------- */

static gboolean
va_ok (VAStatus st, const char *what, char **why)
{
  if (st == VA_STATUS_SUCCESS)
    return TRUE;
  *why = g_strdup_printf ("%s failed: %s", what, vaErrorStr (st));
  return FALSE;
}

/* Puts a pattern into @surface: through a derived image when the driver
 * allows it, else through vaPutImage. */
/* An NV12 image for @surface: derived from it when the driver allows that
 * (*derived TRUE: it aliases the surface's memory), else a new image the
 * caller copies through vaPutImage/vaGetImage. */
static gboolean
nv12_image_for (VADisplay dpy, VASurfaceID surface, int w, int h, VAImage *img, gboolean *derived,
                char **why)
{
  *derived = vaDeriveImage (dpy, surface, img) == VA_STATUS_SUCCESS;
  if (*derived && img->format.fourcc != VA_FOURCC_NV12)
    {
      vaDestroyImage (dpy, img->image_id);
      *derived = FALSE;
    }
  if (*derived)
    return TRUE;
  VAImageFormat fmt
      = { .fourcc = VA_FOURCC_NV12, .byte_order = VA_LSB_FIRST, .bits_per_pixel = 12 };
  return va_ok (vaCreateImage (dpy, &fmt, w, h, img), "vaCreateImage", why);
}

static gboolean
upload_nv12 (VADisplay dpy, VASurfaceID surface, int w, int h, gboolean flat, char **why)
{
  VAImage img;
  gboolean derived;
  if (!nv12_image_for (dpy, surface, w, h, &img, &derived, why))
    return FALSE;
  void *map = NULL;
  gboolean ok = va_ok (vaMapBuffer (dpy, img.buf, &map), "vaMapBuffer", why);
  if (ok)
    {
      pd_vaprobe_fill_nv12 (map, &img, w, h, flat);
      ok = va_ok (vaUnmapBuffer (dpy, img.buf), "vaUnmapBuffer", why);
    }
  if (ok && !derived)
    ok = va_ok (vaPutImage (dpy, surface, img.image_id, 0, 0, (unsigned) w, (unsigned) h, 0, 0,
                            (unsigned) w, (unsigned) h),
                "vaPutImage", why);
  vaDestroyImage (dpy, img.image_id);
  return ok;
}

static gboolean
download_check_nv12 (VADisplay dpy, VASurfaceID surface, int w, int h, const guint8 *want_u,
                     const guint8 *want_v, char **why)
{
  VAImage img;
  gboolean derived;
  if (!nv12_image_for (dpy, surface, w, h, &img, &derived, why))
    return FALSE;
  if (!derived
      && !va_ok (vaGetImage (dpy, surface, 0, 0, (unsigned) w, (unsigned) h, img.image_id),
                 "vaGetImage", why))
    {
      vaDestroyImage (dpy, img.image_id);
      return FALSE;
    }
  void *map = NULL;
  gboolean ok = va_ok (vaMapBuffer (dpy, img.buf, &map), "vaMapBuffer", why);
  if (ok)
    {
      ok = pd_vaprobe_check_nv12 (map, &img, w, h, want_u, want_v, why);
      vaUnmapBuffer (dpy, img.buf);
    }
  vaDestroyImage (dpy, img.image_id);
  return ok;
}

/* vaSyncSurface2 with a timeout where the driver has it, else vaSyncSurface
 * (then the parent's deadline is the only guard). */
static gboolean
sync_surface (VADisplay dpy, VASurfaceID surface, char **why)
{
  gint64 give_up = g_get_monotonic_time () + SYNC_BUDGET_US;
  for (;;)
    {
      VAStatus st = vaSyncSurface2 (dpy, surface, 250 * 1000 * 1000ull);
      if (st == VA_STATUS_ERROR_UNIMPLEMENTED)
        return va_ok (vaSyncSurface (dpy, surface), "vaSyncSurface", why);
      if (st != VA_STATUS_ERROR_TIMEDOUT)
        return va_ok (st, "vaSyncSurface2", why);
      if (g_get_monotonic_time () > give_up)
        {
          *why = g_strdup_printf (_ ("the GPU did not finish a tiny scaling job within %d s: a GPU "
                                     "hang is likely"),
                                  (int) (SYNC_BUDGET_US / G_USEC_PER_SEC));
          return FALSE;
        }
    }
}

static gboolean
test_vpp_scale (VADisplay dpy, char **why)
{
  VAConfigID config = VA_INVALID_ID;
  VAContextID context = VA_INVALID_ID;
  VASurfaceID surfaces[2] = { VA_INVALID_SURFACE, VA_INVALID_SURFACE };
  VABufferID buf = VA_INVALID_ID;
  gboolean ok = FALSE;

  VASurfaceAttrib attr
      = { .type = VASurfaceAttribPixelFormat,
          .flags = VA_SURFACE_ATTRIB_SETTABLE,
          .value = { .type = VAGenericValueTypeInteger, .value = { .i = VA_FOURCC_NV12 } } };

  if (!va_ok (vaCreateConfig (dpy, VAProfileNone, VAEntrypointVideoProc, NULL, 0, &config),
              "vaCreateConfig (VideoProc)", why))
    goto out;
  if (!va_ok (vaCreateSurfaces (dpy, VA_RT_FORMAT_YUV420, SRC_W, SRC_H, &surfaces[0], 1, &attr, 1),
              "vaCreateSurfaces (source)", why)
      || !va_ok (
          vaCreateSurfaces (dpy, VA_RT_FORMAT_YUV420, DST_W, DST_H, &surfaces[1], 1, &attr, 1),
          "vaCreateSurfaces (target)", why))
    goto out;
  if (!upload_nv12 (dpy, surfaces[0], SRC_W, SRC_H, FALSE, why)
      || !upload_nv12 (dpy, surfaces[1], DST_W, DST_H, TRUE, why))
    goto out;
  if (!va_ok (
          vaCreateContext (dpy, config, DST_W, DST_H, VA_PROGRESSIVE, &surfaces[1], 1, &context),
          "vaCreateContext (VideoProc)", why))
    goto out;

  VARectangle in_rect = { 0, 0, SRC_W, SRC_H };
  VARectangle out_rect = { 0, 0, DST_W, DST_H };
  VAProcPipelineParameterBuffer pp = { 0 };
  pp.surface = surfaces[0];
  pp.surface_region = &in_rect;
  pp.output_region = &out_rect;
  pp.output_background_color = 0xff000000;
  pp.filter_flags = VA_FILTER_SCALING_DEFAULT;
  pp.surface_color_standard = VAProcColorStandardBT601;
  pp.output_color_standard = VAProcColorStandardBT601;
  if (!va_ok (
          vaCreateBuffer (dpy, context, VAProcPipelineParameterBufferType, sizeof pp, 1, &pp, &buf),
          "vaCreateBuffer (pipeline)", why))
    goto out;
  if (!va_ok (vaBeginPicture (dpy, context, surfaces[1]), "vaBeginPicture", why)
      || !va_ok (vaRenderPicture (dpy, context, &buf, 1), "vaRenderPicture", why)
      || !va_ok (vaEndPicture (dpy, context), "vaEndPicture", why))
    goto out;
  if (!sync_surface (dpy, surfaces[1], why))
    goto out;
  ok = download_check_nv12 (dpy, surfaces[1], DST_W, DST_H, pd_vaprobe_quad_u, pd_vaprobe_quad_v,
                            why);

out:
  if (buf != VA_INVALID_ID)
    vaDestroyBuffer (dpy, buf);
  if (context != VA_INVALID_ID)
    vaDestroyContext (dpy, context);
  for (int i = 0; i < 2; i++)
    if (surfaces[i] != VA_INVALID_SURFACE)
      vaDestroySurfaces (dpy, &surfaces[i], 1);
  if (config != VA_INVALID_ID)
    vaDestroyConfig (dpy, config);
  return ok;
}

/* --- functional test where there is no VideoProc: decode a tiny JPEG ------ */

static gboolean
test_jpeg_decode (VADisplay dpy, char **why)
{
  PdVaprobeJpeg jp;
  if (!pd_vaprobe_parse_jpeg (pd_vaprobe_jpeg, sizeof pd_vaprobe_jpeg, &jp, why))
    return FALSE;
  const int w = jp.pic.picture_width, h = jp.pic.picture_height;
  VAConfigID config = VA_INVALID_ID;
  VAContextID context = VA_INVALID_ID;
  VASurfaceID surface = VA_INVALID_SURFACE;
  VABufferID bufs[5]
      = { VA_INVALID_ID, VA_INVALID_ID, VA_INVALID_ID, VA_INVALID_ID, VA_INVALID_ID };
  gboolean ok = FALSE;

  VAConfigAttrib rt = { .type = VAConfigAttribRTFormat, .value = VA_RT_FORMAT_YUV420 };
  if (!va_ok (vaCreateConfig (dpy, VAProfileJPEGBaseline, VAEntrypointVLD, &rt, 1, &config),
              "vaCreateConfig (JPEG decode)", why))
    goto out;
  if (!va_ok (vaCreateSurfaces (dpy, VA_RT_FORMAT_YUV420, (unsigned) w, (unsigned) h, &surface, 1,
                                NULL, 0),
              "vaCreateSurfaces (JPEG)", why))
    goto out;
  /* Something else than the picture first, to see that the GPU wrote it. */
  if (!upload_nv12 (dpy, surface, w, h, TRUE, why))
    g_clear_pointer (why, g_free); /* not every driver lets us write a decode target */
  if (!va_ok (vaCreateContext (dpy, config, w, h, VA_PROGRESSIVE, &surface, 1, &context),
              "vaCreateContext (JPEG decode)", why))
    goto out;
  if (!va_ok (vaCreateBuffer (dpy, context, VAPictureParameterBufferType, sizeof jp.pic, 1, &jp.pic,
                              &bufs[0]),
              "vaCreateBuffer (picture)", why)
      || !va_ok (
          vaCreateBuffer (dpy, context, VAIQMatrixBufferType, sizeof jp.iq, 1, &jp.iq, &bufs[1]),
          "vaCreateBuffer (quantiser)", why)
      || !va_ok (vaCreateBuffer (dpy, context, VAHuffmanTableBufferType, sizeof jp.huff, 1,
                                 &jp.huff, &bufs[2]),
                 "vaCreateBuffer (Huffman)", why)
      || !va_ok (vaCreateBuffer (dpy, context, VASliceParameterBufferType, sizeof jp.slice, 1,
                                 &jp.slice, &bufs[3]),
                 "vaCreateBuffer (slice)", why)
      || !va_ok (vaCreateBuffer (dpy, context, VASliceDataBufferType, (unsigned) jp.scan_len, 1,
                                 (void *) jp.scan, &bufs[4]),
                 "vaCreateBuffer (slice data)", why))
    goto out;
  if (!va_ok (vaBeginPicture (dpy, context, surface), "vaBeginPicture", why)
      || !va_ok (vaRenderPicture (dpy, context, bufs, 5), "vaRenderPicture", why)
      || !va_ok (vaEndPicture (dpy, context), "vaEndPicture", why))
    goto out;
  if (!sync_surface (dpy, surface, why))
    goto out;
  ok = download_check_nv12 (dpy, surface, w, h, pd_vaprobe_flat_uv, pd_vaprobe_flat_uv, why);

out:
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    if (bufs[i] != VA_INVALID_ID)
      vaDestroyBuffer (dpy, bufs[i]);
  if (context != VA_INVALID_ID)
    vaDestroyContext (dpy, context);
  if (surface != VA_INVALID_SURFACE)
    vaDestroySurfaces (dpy, &surface, 1);
  if (config != VA_INVALID_ID)
    vaDestroyConfig (dpy, config);
  return ok;
}

static void
probe_functional_test (Probe *p, VADisplay dpy)
{
  g_autofree char *why = NULL;
  gint64 t0 = g_get_monotonic_time ();
  if (p->r.video_processing)
    {
      set_str (&p->r.functional_name, "vpp-scale-nv12");
      p->r.functional_ran = TRUE;
      p->r.functional_passed = test_vpp_scale (dpy, &why);
      if (p->r.functional_passed)
        p->r.functional_message
            = g_strdup_printf (_ ("the GPU scaled a %dx%d NV12 test frame to %dx%d and "
                                  "every checked pixel came back right"),
                               SRC_W, SRC_H, DST_W, DST_H);
    }
  else if (p->has_jpeg_decode)
    {
      set_str (&p->r.functional_name, "jpeg-decode");
      p->r.functional_ran = TRUE;
      p->r.functional_passed = test_jpeg_decode (dpy, &why);
      if (p->r.functional_passed)
        p->r.functional_message
            = g_strdup_printf (_ ("the driver has no video processing; the GPU decoded a "
                                  "%dx%d test JPEG and every checked pixel came back "
                                  "right"),
                               PD_VAPROBE_JPEG_SIZE, PD_VAPROBE_JPEG_SIZE);
    }
  else
    {
      p->r.functional_message
          = g_strdup ("the driver offers neither video processing "
                      "(VAEntrypointVideoProc) nor JPEG decoding, so the GPU could not "
                      "be given a test job");
      return;
    }
  p->r.functional_ms = (double) (g_get_monotonic_time () - t0) / 1000.0;
  if (!p->r.functional_passed)
    {
      p->r.functional_message = g_steal_pointer (&why);
      set_str (&p->r.status, "functional-failed");
      p->r.error = g_strdup (p->r.functional_message);
    }
}

/* --- privileges ------------------------------------------------------------ */

static gboolean
drop_privileges (Probe *p, const char *user)
{
  if (geteuid () != 0)
    {
      struct passwd *me = getpwuid (geteuid ());
      p->r.user = g_strdup (me ? me->pw_name : "?");
      return TRUE;
    }
  errno = 0;
  struct passwd *pw = getpwnam (user);
  if (pw == NULL)
    {
      p->r.error
          = g_strdup_printf (_ ("the user “%s” to run the GPU test as does not exist; pass an "
                                "existing unprivileged user with --user"),
                             user);
      return FALSE;
    }
  if (pw->pw_uid == 0)
    {
      p->r.error = g_strdup_printf (
          _ ("“%s” is root; the GPU test must run as an unprivileged user"), user);
      return FALSE;
    }
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  p->r.user = g_strdup (pw->pw_name);

  /* Keep only what opening a render node needs. */
  gid_t groups[2];
  int n = 0;
  const char *wanted[] = { "render", "video" };
  for (guint i = 0; i < G_N_ELEMENTS (wanted); i++)
    {
      struct group *gr = getgrnam (wanted[i]);
      if (gr != NULL)
        groups[n++] = gr->gr_gid;
    }
  if (setgroups ((size_t) n, groups) != 0 || setgid (gid) != 0 || setuid (uid) != 0)
    {
      p->r.error
          = g_strdup_printf (_ ("could not switch to the user “%s”: %s"), user, g_strerror (errno));
      return FALSE;
    }
  if (getuid () != uid || geteuid () != uid || getgid () != gid || getegid () != gid
      || setuid (0) == 0)
    {
      p->r.error = g_strdup_printf (_ ("switching to the user “%s” did not take effect"), user);
      return FALSE;
    }
#ifdef __SANITIZE_ADDRESS__
  /* Sanitizer builds only: LeakSanitizer needs a dumpable process. */
  prctl (PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
  return TRUE;
}

/* --- report ------------------------------------------------------------------ */

/* The report as JSON: the fields vaprobe-report.h reads back, plus what only
 * the probe's report carries (libva's capability matrix and messages). */
static char *
probe_to_json (Probe *p, double duration_ms, gboolean pretty)
{
  g_ptr_array_add (p->decode, NULL);
  g_ptr_array_add (p->encode, NULL);
  g_ptr_array_add (p->messages, NULL);
  g_strfreev (p->r.decode);
  g_strfreev (p->r.encode);
  p->r.decode = g_strdupv ((char **) p->decode->pdata);
  p->r.encode = g_strdupv ((char **) p->encode->pdata);
  p->r.duration_ms = duration_ms;
  char *json = pd_vaprobe_report_to_json (&p->r, p->profiles,
                                          (const char *const *) p->messages->pdata, pretty);
  g_ptr_array_remove_index (p->decode, p->decode->len - 1);
  g_ptr_array_remove_index (p->encode, p->encode->len - 1);
  g_ptr_array_remove_index (p->messages, p->messages->len - 1);
  return json;
}

/* The same report for a person reading a terminal. */
static char *
probe_to_text (Probe *p, double duration_ms)
{
  GString *t = g_string_new (NULL);
#define LINE(label, value)                                                                         \
  if (value)                                                                                       \
  g_string_append_printf (t, "%-17s %s\n", label, value)
  LINE ("status:", p->r.status);
  LINE ("error:", p->r.error);
  g_string_append_printf (t, "%-17s %s (as %s)\n", "device:", p->r.device,
                          p->r.user ? p->r.user : "?");
  LINE ("driver:", p->r.driver);
  LINE ("driver file:", p->r.driver_path);
  LINE ("vendor:", p->r.vendor);
  LINE ("VA-API version:", p->r.va_api_version);
  if (p->r.va_api_version != NULL)
    {
      g_ptr_array_add (p->decode, NULL);
      g_ptr_array_add (p->encode, NULL);
      g_autofree char *dec = g_strjoinv (", ", (char **) p->decode->pdata);
      g_autofree char *enc = g_strjoinv (", ", (char **) p->encode->pdata);
      g_ptr_array_remove_index (p->decode, p->decode->len - 1);
      g_ptr_array_remove_index (p->encode, p->encode->len - 1);
      LINE ("decode:", dec[0] ? dec : "nothing");
      LINE ("encode:", enc[0] ? enc : "nothing");
      LINE ("video processing:", p->r.video_processing ? "yes" : "no");
      if (p->r.functional_ran)
        g_string_append_printf (t, "%-17s %s %s in %.1f ms: %s\n",
                                "functional test:", p->r.functional_name,
                                p->r.functional_passed ? "passed" : "FAILED", p->r.functional_ms,
                                p->r.functional_message ? p->r.functional_message : "");
      else
        LINE ("functional test:", p->r.functional_message);
    }
  g_string_append_printf (t, "%-17s %.1f ms", "took:", duration_ms);
#undef LINE
  return g_string_free (t, FALSE);
}

static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static int
exit_code_for (const char *status)
{
  if (g_str_equal (status, "ok"))
    return PD_VAPROBE_EXIT_OK;
  if (g_str_equal (status, "no-device"))
    return PD_VAPROBE_EXIT_NO_DEVICE;
  if (g_str_equal (status, "privileges-failed"))
    return PD_VAPROBE_EXIT_PRIVILEGES;
  return PD_VAPROBE_EXIT_PROBLEM;
}

/* The driver's name from the file libva opened: ".../iHD_drv_video.so" -> "iHD". */
static char *
driver_name_from_path (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  if (!g_str_has_suffix (base, "_drv_video.so"))
    return NULL;
  base[strlen (base) - strlen ("_drv_video.so")] = '\0';
  return g_steal_pointer (&base);
}

static void
probe_run_va (Probe *p, int fd)
{
  VADisplay dpy = vaGetDisplayDRM (fd);
  if (dpy == NULL)
    {
      set_str (&p->r.status, "init-failed");
      p->r.error = g_strdup_printf (_ ("libva could not use %s as a DRM device (vaGetDisplayDRM "
                                       "failed)"),
                                    p->r.device);
      return;
    }
  vaSetErrorCallback (dpy, on_va_error, p);
  vaSetInfoCallback (dpy, on_va_info, p);
  int major = 0, minor = 0;
  VAStatus st = vaInitialize (dpy, &major, &minor);
  if (p->trying != NULL)
    {
      p->r.driver_path = g_strdup (p->trying);
      p->r.driver = driver_name_from_path (p->trying);
    }
  if (st != VA_STATUS_SUCCESS)
    {
      set_str (&p->r.status, "init-failed");
      const char *last = p->messages->len ? p->messages->pdata[p->messages->len - 1] : NULL;
      p->r.error = g_strdup_printf (_ ("vaInitialize failed: %s%s%s%s"), vaErrorStr (st),
                                    p->r.driver ? " (driver " : "", p->r.driver ? p->r.driver : "",
                                    p->r.driver ? ")" : "");
      if (last != NULL)
        {
          char *e = g_strdup_printf (_ ("%s; libva said “%s”"), p->r.error, last);
          g_free (p->r.error);
          p->r.error = e;
        }
      vaTerminate (dpy);
      return;
    }
  p->r.va_api_version = g_strdup_printf ("%d.%d", major, minor);
  const char *vendor = vaQueryVendorString (dpy);
  if (vendor != NULL)
    p->r.vendor = g_utf8_make_valid (vendor, MIN ((gssize) strlen (vendor), 512));
  set_str (&p->r.status, "ok");
  probe_query_profiles (p, dpy);
  probe_functional_test (p, dpy);
  vaTerminate (dpy);
}

static gboolean
valid_device_path (const char *path)
{
  return g_str_has_prefix (path, "/dev/dri/") && strstr (path, "/..") == NULL
         && strlen (path) < 256;
}

int
main (int argc, char **argv)
{
  pd_i18n_init ();
  g_autofree char *device = NULL;
  g_autofree char *user = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_FILENAME, &device,
      N_ ("Render node to probe (default /dev/dri/renderD128)"), N_ ("PATH") },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user,
      N_ ("When started as root, run the GPU test as this user (default nobody)"), N_ ("NAME") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the report as one line of JSON"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (N_ ("- probe VA-API on a render node"));
  g_option_context_set_summary (ctx, N_ ("Initialises VA-API on the render node, lists what it can "
                                         "decode and encode,\nand has the GPU scale a test frame "
                                         "whose pixels are then checked.\nPrints a JSON report."));
  g_option_context_set_description (ctx,
                                    N_ ("Exit status: 0 VA-API works (the test frame came back "
                                        "right, or no test was possible),\n1 VA-API or the GPU "
                                        "failed, 2 usage error, 3 the render node does not "
                                        "exist,\n4 root privileges could not be dropped.\n"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "passdesk-vaprobe: %s\n", error->message);
      return PD_VAPROBE_EXIT_USAGE;
    }
  if (argc > 1)
    {
      fprintf (stderr, _ ("passdesk-vaprobe: unexpected argument “%s”\n"), argv[1]);
      return PD_VAPROBE_EXIT_USAGE;
    }
  if (device == NULL)
    device = g_strdup ("/dev/dri/renderD128");
  if (!valid_device_path (device))
    {
      fprintf (stderr, _ ("passdesk-vaprobe: --device must be a node under /dev/dri/, not “%s”\n"),
               device);
      return PD_VAPROBE_EXIT_USAGE;
    }

  gint64 t0 = g_get_monotonic_time ();
  /* Our report owns stdout; a driver that prints to stdout goes to stderr. */
  int report_fd = dup (STDOUT_FILENO);
  if (report_fd < 0 || dup2 (STDERR_FILENO, STDOUT_FILENO) < 0)
    {
      fprintf (stderr, _ ("passdesk-vaprobe: cannot set up output: %s\n"), g_strerror (errno));
      return PD_VAPROBE_EXIT_PROBLEM;
    }

  Probe p = { 0 };
  set_str (&p.r.status, "ok");
  p.r.device = g_strdup (device);
  p.decode = g_ptr_array_new ();
  p.encode = g_ptr_array_new ();
  p.messages = g_ptr_array_new_with_free_func (g_free);

  if (!drop_privileges (&p, user ? user : "nobody"))
    set_str (&p.r.status, "privileges-failed");
  else
    {
      /* Set after the uid change, which clears it: die with our parent. */
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      g_autofree char *path = pd_sysroot_path (device);
      struct stat st;
      int fd = -1;
      /* Look before opening: a path that is there but no device node (a
       * fixture tree, a stale file) is "no device", not a permission problem. */
      int st_rc = stat (path, &st);
      int st_errno = errno;
      if (st_rc != 0 && (st_errno == ENOENT || st_errno == ENOTDIR))
        {
          set_str (&p.r.status, "no-device");
          p.r.error = g_strdup_printf (_ ("the render node %s does not exist: no GPU with a DRM "
                                          "driver is present"),
                                       device);
        }
      else if (st_rc == 0 && !S_ISCHR (st.st_mode))
        {
          set_str (&p.r.status, "no-device");
          p.r.error = g_strdup_printf (_ ("%s is not a device node: no GPU with a DRM driver is "
                                          "present"),
                                       device);
        }
      else if ((fd = open (path, O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
        {
          int saved = errno;
          if (saved == ENOENT || saved == ENODEV || saved == ENXIO)
            {
              set_str (&p.r.status, "no-device");
              p.r.error = g_strdup_printf (_ ("the render node %s has no device behind it: %s"),
                                           device, g_strerror (saved));
            }
          else
            {
              set_str (&p.r.status, "open-failed");
              p.r.error = g_strdup_printf (_ ("cannot open %s as user %s: %s"), device, p.r.user,
                                           g_strerror (saved));
            }
        }
      else if (fstat (fd, &st) != 0 || !S_ISCHR (st.st_mode))
        {
          set_str (&p.r.status, "no-device");
          p.r.error = g_strdup_printf (_ ("%s is not a device node: no GPU with a DRM driver is "
                                          "present"),
                                       device);
          close (fd);
        }
      else
        {
          probe_run_va (&p, fd);
          close (fd);
        }
    }

  double ms = (double) (g_get_monotonic_time () - t0) / 1000.0;
  g_autofree char *out = json ? probe_to_json (&p, ms, FALSE) : probe_to_text (&p, ms);
  gboolean written = write_all (report_fd, out, strlen (out)) && write_all (report_fd, "\n", 1);
  close (report_fd);
  int code = exit_code_for (p.r.status);

  pd_vaprobe_report_clear (&p.r);
  g_ptr_array_unref (p.decode);
  g_ptr_array_unref (p.encode);
  g_ptr_array_unref (p.messages);
  g_clear_pointer (&p.profiles, json_node_unref);
  g_free (p.trying);
  return written ? code : PD_VAPROBE_EXIT_PROBLEM;
}
