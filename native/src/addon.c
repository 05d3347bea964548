/* Module registration and the small helpers every part of the addon uses. */
#include "common.h"
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

napi_value throw_errno(napi_env env, const char *what, int err) {
  const char *name = strerrorname_np(err);
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_value errnum;
  napi_create_int32(env, -err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "EINVAL", msg);
  return NULL;
}

bool get_string(napi_env env, napi_value v, char *buf, size_t len, const char *name) {
  size_t n = 0;
  char msg[128];
  /* First the full length (a NULL buffer asks for it): a string that fills buf exactly, NUL
   * included, fits; one that does not is refused rather than silently cut. */
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a string", name);
    throw_type(env, msg);
    return false;
  }
  if (len == 0 || n > len - 1) {
    snprintf(msg, sizeof msg, "%s is too long (at most %zu bytes)", name, len ? len - 1 : 0);
    throw_type(env, msg);
    return false;
  }
  if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) {
    throw_type(env, "internal N-API failure");
    return false;
  }
  if (strlen(buf) != n) {
    snprintf(msg, sizeof msg, "%s contains a NUL character", name);
    throw_type(env, msg);
    return false;
  }
  return true;
}

static int get_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok) return -1;
  if (!has) return 0;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return -1;
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return (t == napi_undefined || t == napi_null) ? 0 : 1;
}

int get_opt_string(napi_env env, napi_value obj, const char *key, char *buf, size_t len) {
  napi_value v;
  int r = get_prop(env, obj, key, &v);
  if (r <= 0) return r;
  return get_string(env, v, buf, len, key) ? 1 : -1;
}

int get_opt_int(napi_env env, napi_value obj, const char *key, int *out) {
  napi_value v;
  int r = get_prop(env, obj, key, &v);
  if (r <= 0) return r;
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number", key);
    throw_type(env, msg);
    return -1;
  }
  return 1;
}

unsigned ifindex_of(napi_env env, const char *ifname) {
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) {
    char what[64];
    snprintf(what, sizeof what, "interface %s", ifname);
    throw_errno(env, what, errno);
  }
  return idx;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"rawOpen", NULL, raw_open, NULL, NULL, NULL, napi_default, NULL},
      {"rawSend", NULL, raw_send, NULL, NULL, NULL, napi_default, NULL},
      {"rawClose", NULL, raw_close, NULL, NULL, NULL, napi_default, NULL},
      {"rawSetRef", NULL, raw_set_ref, NULL, NULL, NULL, napi_default, NULL},
      {"_parseControl", NULL, raw_parse_control, NULL, NULL, NULL, napi_default, NULL},
      {"ifInfo", NULL, link_if_info, NULL, NULL, NULL, napi_default, NULL},
      {"packetOpen", NULL, packet_open, NULL, NULL, NULL, napi_default, NULL},
      {"packetSend", NULL, packet_send, NULL, NULL, NULL, napi_default, NULL},
      {"packetInfo", NULL, packet_info, NULL, NULL, NULL, napi_default, NULL},
      {"packetClose", NULL, packet_close, NULL, NULL, NULL, napi_default, NULL},
      {"nlOpen", NULL, nl_open, NULL, NULL, NULL, napi_default, NULL},
      {"nlRequest", NULL, nl_request, NULL, NULL, NULL, napi_default, NULL},
      {"nlClose", NULL, nl_close, NULL, NULL, NULL, napi_default, NULL},
      {"nlSetRef", NULL, nl_set_ref, NULL, NULL, NULL, napi_default, NULL},
      {"pidWatch", NULL, pid_watch, NULL, NULL, NULL, napi_default, NULL},
      {"pidUnwatch", NULL, pid_unwatch, NULL, NULL, NULL, napi_default, NULL},
      {"unixDgramSend", NULL, unix_dgram_send, NULL, NULL, NULL, napi_default, NULL},
      {"setRealtime", NULL, set_realtime, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
