/* Shared helpers for the floatd addon: argument fetching and errno-coded exceptions. */
#ifndef FLOATD_COMMON_H
#define FLOATD_COMMON_H
#define _GNU_SOURCE
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>

/* Throws an Error whose .code is the errno name (EPERM, ENODEV, ...) and returns NULL. */
napi_value throw_errno(napi_env env, const char *what, int err);
/* Throws a TypeError with code EINVAL and returns NULL. */
napi_value throw_type(napi_env env, const char *msg);
/* Copies a JS string into buf (NUL-terminated); false (exception pending) if not a string, if it
 * contains a NUL, or if it needs more than len bytes with its NUL (len - 1 characters fit). */
bool get_string(napi_env env, napi_value v, char *buf, size_t len, const char *name);
/* Reads obj[key] as a string if present and not undefined; returns 1 if set, 0 if absent, -1 on error. */
int get_opt_string(napi_env env, napi_value obj, const char *key, char *buf, size_t len);
/* Reads obj[key] as an int32 if present; returns 1 if set, 0 if absent, -1 on error. */
int get_opt_int(napi_env env, napi_value obj, const char *key, int *out);
/* Resolves an interface name to its index; 0 with exception pending on failure. */
unsigned ifindex_of(napi_env env, const char *ifname);

napi_value raw_open(napi_env env, napi_callback_info info);
napi_value raw_send(napi_env env, napi_callback_info info);
napi_value raw_close(napi_env env, napi_callback_info info);
napi_value raw_set_ref(napi_env env, napi_callback_info info);
napi_value raw_parse_control(napi_env env, napi_callback_info info);
napi_value link_if_info(napi_env env, napi_callback_info info);
napi_value packet_open(napi_env env, napi_callback_info info);
napi_value packet_send(napi_env env, napi_callback_info info);
napi_value packet_info(napi_env env, napi_callback_info info);
napi_value packet_close(napi_env env, napi_callback_info info);
napi_value nl_open(napi_env env, napi_callback_info info);
napi_value nl_request(napi_env env, napi_callback_info info);
napi_value nl_close(napi_env env, napi_callback_info info);
napi_value nl_set_ref(napi_env env, napi_callback_info info);
napi_value pid_watch(napi_env env, napi_callback_info info);
napi_value pid_unwatch(napi_env env, napi_callback_info info);
napi_value unix_dgram_send(napi_env env, napi_callback_info info);
napi_value set_realtime(napi_env env, napi_callback_info info);

#define NAPI_TRY(env, call)                                        \
  do {                                                             \
    if ((call) != napi_ok) {                                       \
      bool pending_;                                               \
      napi_is_exception_pending((env), &pending_);                 \
      if (!pending_) throw_type((env), "internal N-API failure");  \
      return NULL;                                                 \
    }                                                              \
  } while (0)
#endif
