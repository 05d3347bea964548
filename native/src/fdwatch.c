/* Shared lifecycle of the addon's descriptor handles (see fdwatch.h). */
#include "fdwatch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_POLL_FAILS 3

/* One tag per kind: a handle of one kind passed where another is expected is a TypeError. */
static const napi_type_tag TAGS[] = {
    {0, 0},
    {0x666c6f617464ULL, 0x7261770000000001ULL},  /* raw */
    {0x666c6f617464ULL, 0x7061636b65740002ULL},  /* packet */
    {0x666c6f617464ULL, 0x6e65746c6e6b0003ULL},  /* netlink */
    {0x666c6f617464ULL, 0x7069646664000004ULL},  /* pidfd */
};

static void watch_free(fdwatch_t *w) {
  if (w->free_extra) w->free_extra(w);
  free(w);
}

static void on_handle_closed(uv_handle_t *h) {
  fdwatch_t *w = h->data;
  w->handle_closed = true;
  if (w->finalized) watch_free(w);
}

void fdwatch_close(fdwatch_t *w) {
  if (w->closed) return;
  w->closed = true;
  if (w->polling) {
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, on_handle_closed);
  } else {
    w->handle_closed = true;
  }
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  if (w->cb) napi_delete_reference(w->env, w->cb);
  w->cb = NULL;
  if (w->actx && !w->in_call) {
    napi_async_destroy(w->env, w->actx);
    w->actx = NULL;
  }
}

static void on_finalize(napi_env env, void *data, void *hint) {
  fdwatch_t *w = data;
  w->finalized = true;
  fdwatch_close(w);
  if (w->handle_closed) watch_free(w);
}

bool fdwatch_call(fdwatch_t *w, napi_value cb, size_t argc, napi_value *argv) {
  napi_value global;
  napi_get_global(w->env, &global);
  bool nested = w->in_call;
  w->in_call = true;
  napi_status st = napi_make_callback(w->env, w->actx, global, cb, argc, argv, NULL);
  w->in_call = nested;
  if (w->closed && !nested && w->actx) { /* closed by the callback itself */
    napi_async_destroy(w->env, w->actx);
    w->actx = NULL;
  }
  if (st == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(w->env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(w->env, &exc);
    napi_fatal_exception(w->env, exc); /* 'uncaughtException', as for any JS callback */
  }
  return false;
}

bool fdwatch_report(fdwatch_t *w, napi_value cb, int err, bool fatal) {
  napi_env env = w->env;
  const char *name = strerrorname_np(err);
  napi_value code, message, error, flag;
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_get_boolean(env, fatal, &flag);
  napi_set_named_property(env, error, "fatal", flag);
  return fdwatch_call(w, cb, 1, &error);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  fdwatch_t *w = h->data;
  if (w->closed || !w->cb) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb;
  napi_get_reference_value(env, w->cb, &cb);
  if (status >= 0) {
    w->fails = 0;
    w->ready(w, cb);
  } else {
    /* libuv has stopped this handle (POLLERR). Fetch the socket's pending error, which also
     * clears it; resume if there was one to clear, else the descriptor is broken: stop it. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = 0;
    bool fatal = err == 0 || ++w->fails >= MAX_POLL_FAILS;
    if (fatal) {
      uv_poll_stop(&w->poll);
      fdwatch_report(w, cb, err ? err : -status, true);
      fdwatch_close(w); /* after the report: it uses the async context */
    } else {
      uv_poll_start(&w->poll, UV_READABLE, on_poll);
      if (!w->on_error || !w->on_error(w, err)) fdwatch_report(w, cb, err, false);
    }
  }
  napi_close_handle_scope(env, scope);
}

napi_value fdwatch_create(napi_env env, int fd, enum handle_kind kind, size_t size, napi_value cb,
                          fdwatch_ready_fn ready, fdwatch_t **out) {
  fdwatch_t *w = size >= sizeof *w ? calloc(1, size) : NULL;
  if (!w) { close(fd); return throw_errno(env, "handle", ENOMEM); }
  w->env = env;
  w->fd = fd;
  w->kind = kind;
  w->ready = ready;
  w->poll.data = w;
  w->handle_closed = true;
  napi_value handle;
  if (napi_create_external(env, w, on_finalize, NULL, &handle) != napi_ok ||
      napi_type_tag_object(env, handle, &TAGS[kind]) != napi_ok) {
    close(fd);
    free(w); /* the finalizer of a failed external never runs */
    return throw_type(env, "internal N-API failure");
  }
  if (cb && ready) {
    uv_loop_t *loop;
    int rc = napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init(loop, &w->poll, fd) : UV_EINVAL;
    if (rc < 0) { fdwatch_close(w); return throw_errno(env, "uv_poll_init", -rc); }
    w->polling = true;
    w->handle_closed = false;
    napi_value name;
    napi_create_string_utf8(env, "floatd.native", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, NULL, name, &w->actx);
    napi_create_reference(env, cb, 1, &w->cb);
    uv_poll_start(&w->poll, UV_READABLE, on_poll);
  }
  if (out) *out = w;
  return handle;
}

fdwatch_t *fdwatch_get(napi_env env, napi_value v, enum handle_kind kind, const char *what) {
  napi_valuetype t;
  bool ok = false;
  void *p = NULL;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_external &&
      napi_check_object_type_tag(env, v, &TAGS[kind], &ok) == napi_ok && ok &&
      napi_get_value_external(env, v, &p) == napi_ok && p)
    return p;
  char msg[64];
  snprintf(msg, sizeof msg, "not a %s handle", what);
  throw_type(env, msg);
  return NULL;
}

void fdwatch_set_ref(fdwatch_t *w, bool ref) {
  if (w->closed || !w->polling) return;
  if (ref) uv_ref((uv_handle_t *)&w->poll);
  else uv_unref((uv_handle_t *)&w->poll);
}
