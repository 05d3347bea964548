/* One non-blocking descriptor in Node's event loop, shared by every kind of handle the addon
 * gives to JS (raw VRRP sockets, packet sockets, netlink sockets, pidfds). It owns the
 * lifecycle (JS external with a type tag, uv_poll, close, finalizer) and the error rules:
 * a poll error is reported with the socket's own errno and polling resumes; a descriptor
 * that keeps failing (or has no error to clear) is stopped for good and reported once with
 * `fatal: true`. A JS callback that throws surfaces as 'uncaughtException'. */
#ifndef FLOATD_FDWATCH_H
#define FLOATD_FDWATCH_H
#include "common.h"
#include <uv.h>

enum handle_kind { KIND_RAW = 1, KIND_PACKET, KIND_NETLINK, KIND_PIDFD };

typedef struct fdwatch fdwatch_t;
/* Called on readiness inside a handle scope, with the JS callback. */
typedef void (*fdwatch_ready_fn)(fdwatch_t *w, napi_value cb);

struct fdwatch {
  napi_env env;
  int fd;
  enum handle_kind kind;
  uv_poll_t poll;
  napi_ref cb;
  napi_async_context actx;
  fdwatch_ready_fn ready;
  void (*free_extra)(fdwatch_t *w);
  /* Optional: takes a poll error (true = handled, polling resumes, nothing reported now). */
  bool (*on_error)(fdwatch_t *w, int err);
  int fails;          /* consecutive poll errors */
  bool in_call;       /* inside a JS callback: the async context outlives it */
  bool polling;       /* uv_poll started */
  bool closed;        /* close done (by JS, failure or finalizer) */
  bool handle_closed; /* uv_close callback ran (or never needed) */
  bool finalized;     /* JS external collected */
};

/* Allocates `size` bytes (>= sizeof(fdwatch_t), the watch first) for fd; the fd is owned from
 * here on (closed on failure). With a callback and `ready`, polls for readability. Returns the
 * JS handle, or NULL with an exception pending. */
napi_value fdwatch_create(napi_env env, int fd, enum handle_kind kind, size_t size, napi_value cb,
                          fdwatch_ready_fn ready, fdwatch_t **out);
/* The handle's watch if `v` is a handle of this kind, else NULL with a TypeError pending. */
fdwatch_t *fdwatch_get(napi_env env, napi_value v, enum handle_kind kind, const char *what);
/* Stops polling and closes the descriptor (idempotent); memory goes with the finalizer. */
void fdwatch_close(fdwatch_t *w);
void fdwatch_set_ref(fdwatch_t *w, bool ref);
/* Calls cb(argv...); false if it threw (already surfaced as 'uncaughtException'). */
bool fdwatch_call(fdwatch_t *w, napi_value cb, size_t argc, napi_value *argv);
/* Calls cb(err) with err.code = errno name and err.fatal. */
bool fdwatch_report(fdwatch_t *w, napi_value cb, int err, bool fatal);
#endif
