/*
 * Process exit by pidfd (Linux >= 5.3): pidWatch(pid, cb) opens a pidfd and polls it; the
 * kernel makes it readable when the process exits, and cb() runs once. Works inside PID
 * namespaces (the pid is the caller's view), unlike the proc connector.
 */
#include "fdwatch.h"
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void on_exit_ready(fdwatch_t *w, napi_value cb) {
  napi_value argv[1];
  napi_get_null(w->env, &argv[0]);
  fdwatch_call(w, cb, 1, argv);
  fdwatch_close(w); /* one-shot: the process is gone */
}

/* pidWatch(pid, cb) -> handle; throws ESRCH if there is no such process, ENOSYS before 5.3. */
napi_value pid_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t pid = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (argc < 2 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0 || t != napi_function)
    return throw_type(env, "pidWatch(pid > 0, callback)");
  long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (fd < 0) return throw_errno(env, "pidfd_open", errno);
  return fdwatch_create(env, (int)fd, KIND_PIDFD, sizeof(fdwatch_t), argv[1], on_exit_ready, NULL);
}

napi_value pid_unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "pidUnwatch(handle)");
  fdwatch_t *w = fdwatch_get(env, argv[0], KIND_PIDFD, "pidfd");
  if (w) fdwatch_close(w);
  return NULL;
}
